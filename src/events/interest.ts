/**
 * Which models some gateway process listens to, shared through Redis, so that a write to a model
 * nobody observes anywhere skips the change capture (the before/after row reads) as it does
 * in-process.
 *
 * - Each process keeps `<prefix>interest` (a sorted set: member `model\0process`, score = expiry)
 *   fresh for the models it observes, every TTL/3; a crashed process's entries expire after the TTL.
 * - The first local subscription to a model announces it on `<prefix>interest!` and waits until
 *   every process subscribed to that channel acknowledged (or 6 s passed); each acknowledges once it
 *   captures the model's writes and its writes that began unobserved have ended, so a subscribe
 *   reply still means "live everywhere".
 * - A process that stops observing a model removes its entry; the others notice at their next
 *   refresh and keep capturing until then (the safe direction).
 * - While the registry cannot be read (Redis down, not loaded yet) every model counts as observed,
 *   and for one refresh interval more once it can: a restarted Redis comes back empty, and the other
 *   processes put their entries back only as they reconnect (each also announces them again then).
 */
import { randomUUID } from 'node:crypto';
import type { PubSubEngine } from 'graphql-subscriptions';
import type { Redis } from 'ioredis';
import { logger } from '../logger.js';
import { UNOBSERVED_WRITE_WAIT_MS } from './unobserved-writes.js';

/** What the hub asks of an interest registry. */
export interface ModelInterest {
  /** Whether this or another process may be listening to the model. */
  isObserved(model: string): boolean;
  /** This process starts listening to the model; resolves once the other processes know. */
  observe(model: string): Promise<void>;
  /** This process no longer listens to the model. */
  forget(model: string): void;
}

interface Announcement {
  model: string;
  from: string;
  nonce: string;
}

/** An announcement waits for the others' unobserved writes (bounded by that wait), plus a margin. */
const ANNOUNCE_TIMEOUT_MS = UNOBSERVED_WRITE_WAIT_MS + 1000;

export class RedisModelInterest implements ModelInterest {
  private readonly id = randomUUID();
  private readonly local = new Set<string>();
  private remote = new Set<string>();
  /** Announcements heard lately: kept through a refresh whose read may predate them. */
  private readonly heard = new Map<string, number>();
  private stale = true;
  /** Until then every model still counts as observed: the registry was just re-read after Redis was away. */
  private graceUntil = 0;
  /** Redis was away since the last read of the registry (not set by the first load at start). */
  private recovering = false;
  private readonly refreshMs: number;
  private readonly pendingAcks = new Map<string, { acked: number; needed: number; resolve: () => void }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly key: string;
  private readonly channel: string;

  constructor(
    private readonly publisher: Redis,
    private readonly engine: PubSubEngine,
    prefix: string,
    /** Resolves once this process's writes of the model that began unobserved have ended. */
    private readonly settled: (model: string) => Promise<void> = async () => undefined,
    private readonly ttlMs = 30_000,
  ) {
    this.refreshMs = Math.max(1000, Math.floor(ttlMs / 3));
    this.key = `${prefix}interest`;
    this.channel = `${prefix}interest!`;
  }

  /** Listens for announcements, loads the registry, and keeps it fresh. */
  async start(): Promise<void> {
    // Subscribe before loading: an announcement is either in what we load or reaches us.
    await this.engine.subscribe(this.channel, (message: Announcement) => this.onAnnouncement(message), {});
    await this.engine.subscribe(this.ackChannel(this.id), (message: { nonce: string }) => this.onAck(message.nonce), {});
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  /** Stops refreshing and withdraws this process's entries (the others notice at their next refresh). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const members = [...this.local].map((model) => this.member(model));
    if (members.length) await this.publisher.zrem(this.key, ...members).catch(() => undefined);
  }

  isObserved(model: string): boolean {
    return this.stale || this.local.has(model) || this.remote.has(model) || (this.graceUntil !== 0 && this.inGrace());
  }

  private inGrace(): boolean {
    if (Date.now() < this.graceUntil) return true;
    this.graceUntil = 0;
    return false;
  }

  /** Until the next successful refresh, every model counts as observed (announcements may be missed). */
  markStale(): void {
    this.stale = true;
    this.recovering = true;
  }

  async observe(model: string): Promise<void> {
    this.local.add(model);
    const nonce = randomUUID();
    try {
      await this.publisher.zadd(this.key, Date.now() + this.ttlMs, this.member(model));
      const acked = new Promise<void>((resolve) => this.pendingAcks.set(nonce, { acked: 0, needed: Infinity, resolve }));
      const receivers = await this.publisher.publish(this.channel, JSON.stringify({ model, from: this.id, nonce } satisfies Announcement));
      const pending = this.pendingAcks.get(nonce);
      if (pending) {
        pending.needed = receivers;
        if (pending.acked >= receivers) pending.resolve();
      }
      const timedOut = await Promise.race([acked.then(() => false), delay(ANNOUNCE_TIMEOUT_MS).then(() => true)]);
      if (timedOut) logger.warn('model interest: not every process acknowledged in time', { model, receivers });
    } catch (error) {
      // The others may not know yet; their registry is stale while Redis is away, so they capture anyway.
      logger.warn('model interest: announcement failed', { model, error: String((error as Error)?.message ?? error) });
    } finally {
      this.pendingAcks.delete(nonce);
    }
  }

  /**
   * Announces every model this process observes again, without waiting for acknowledgements: after a
   * reconnect, a process that re-read the registry before this one re-added its entries learns of
   * them now rather than at its next refresh.
   */
  async reannounce(): Promise<void> {
    for (const model of this.local) {
      const announcement: Announcement = { model, from: this.id, nonce: randomUUID() };
      await this.publisher.publish(this.channel, JSON.stringify(announcement)).catch(() => undefined);
    }
  }

  forget(model: string): void {
    this.local.delete(model);
    this.publisher.zrem(this.key, this.member(model)).catch(() => undefined);
  }

  /** Re-reads the registry (renewing this process's entries); stale when Redis does not answer. */
  async refresh(): Promise<void> {
    const now = Date.now();
    try {
      const batch = this.publisher.multi();
      for (const model of this.local) batch.zadd(this.key, now + this.ttlMs, this.member(model));
      batch.zremrangebyscore(this.key, '-inf', now);
      batch.zrangebyscore(this.key, now, '+inf');
      // An abandoned prefix leaves nothing behind.
      batch.pexpire(this.key, this.ttlMs * 2);
      const results = (await batch.exec()) ?? [];
      const members = results[results.length - 2]?.[1] as string[] | undefined;
      if (!Array.isArray(members)) throw new Error('unexpected registry answer');
      this.remote = new Set(members.map((member) => member.slice(0, member.lastIndexOf('\u0000'))));
      for (const [model, at] of this.heard) {
        if (at > now - this.ttlMs) this.remote.add(model);
        else this.heard.delete(model);
      }
      // After Redis was away (a restarted Redis comes back empty), entries of processes that have not
      // reconnected yet are missing: keep capturing everything until each has refreshed once.
      if (this.recovering) this.graceUntil = now + this.refreshMs + 1000;
      this.recovering = false;
      this.stale = false;
    } catch {
      this.stale = true;
      this.recovering = true;
    }
  }

  private onAnnouncement(message: Announcement): void {
    if (!message || typeof message.model !== 'string') return;
    this.remote.add(message.model);
    this.heard.set(message.model, Date.now());
    // New writes of the model are captured from now on; the ack also waits for the writes that began
    // before and captured nothing, so none of them can commit after the announcer's 201 unseen.
    void this.settled(message.model).then(() =>
      this.publisher.publish(this.ackChannel(message.from), JSON.stringify({ nonce: message.nonce })).catch(() => undefined),
    );
  }

  private onAck(nonce: string): void {
    const pending = this.pendingAcks.get(nonce);
    if (!pending) return;
    pending.acked++;
    if (pending.acked >= pending.needed) pending.resolve();
  }

  private ackChannel(process: string): string {
    return `${this.channel}ack:${process}`;
  }

  private member(model: string): string {
    return `${model}\u0000${this.id}`;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
