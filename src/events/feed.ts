/**
 * Delivery from the change log. Every committed change carries its log sequence number; each process
 * hands its local subscribers the changes in sequence order, each once:
 * - the fast path: the writer publishes each change once on the feed topic; a message whose sequence
 *   number follows the last one delivered is routed at once (no read, no await);
 * - a message that skips ahead (a message lost by the PubSub, a writer killed between its commit and its
 *   publish) first has the gap read from the log (entries of the models observed here); sequence values
 *   that never committed (a failed PostgreSQL commit) are simply absent and skipped;
 * - a poll of the log's head (every `FEED_POLL_MS`, and at once after a PubSub reconnect) delivers what
 *   no message announced (a PubSub outage, a crashed writer).
 * Replays of a subscription made `since` a position meet the live changes at a `ReplayGate` (resume.ts).
 */
import type { PubSubEngine } from 'graphql-subscriptions';
import { logger } from '../logger.js';
import type { ChangeLog, LogEntry, LogFilter } from './change-log.js';
import type { ChangeMessage } from './records.js';

/** How often a process checks the log's head for changes no message announced. */
export const FEED_POLL_MS = 500;
/** Entries read per query when filling a gap or replaying. */
const READ_PAGE = 1000;

/** The message a log entry makes (what the writer published for it). */
export function messageOf(entry: LogEntry): ChangeMessage {
  return {
    model: entry.model,
    action: entry.action,
    pk: entry.pk,
    data: entry.data,
    before: entry.before,
    position: entry.position,
    seq: entry.seq,
  };
}

/** What the feed needs of its hub. */
export interface FeedHost {
  /** Hands a change to the local subscribers of its model and row topics. */
  route(message: ChangeMessage): void;
  /** Models with local subscribers (only their entries are read). */
  observedModels(): string[];
}

export class ChangeFeed {
  /** The last sequence number delivered here (or known to concern nobody here). */
  private delivered = 0;
  /** True while a read of the log is in flight: messages wait behind it, in order. */
  private reading = false;
  /** A poll asked for while a read was in flight: run once that read ends (the wake-up is not lost). */
  private pollAgain = false;
  private readonly waiting: ChangeMessage[] = [];
  private ready: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Callers of `reachHead` waiting for the cursor to pass a sequence number. */
  private readonly waiters: Array<{ seq: number; resolve: () => void }> = [];

  constructor(
    readonly log: ChangeLog,
    private readonly engine: PubSubEngine,
    /** The topic every change is published on. */
    readonly topic: string,
    private readonly host: FeedHost,
  ) {}

  /** Whether the feed topic is subscribed (an in-process engine publishes to it only then). */
  get started(): boolean {
    return this.ready !== undefined;
  }

  /**
   * Resolves once the feed topic is live in the PubSub and the cursor is at the log's head (with the
   * engine's subscription id); a refusal (Redis down) is forgotten, so the next call tries afresh.
   */
  start(): Promise<number> {
    if (!this.ready) {
      const opening = this.open();
      this.ready = opening;
      opening.catch(() => {
        if (this.ready === opening) this.ready = undefined;
      });
    }
    return this.ready;
  }

  private async open(): Promise<number> {
    this.reading = true;
    try {
      const id = await this.engine.subscribe(this.topic, this.onMessage, {});
      this.delivered = Math.max(this.delivered, await this.log.headSeq());
      if (!this.timer && !this.closed) {
        this.timer = setInterval(() => this.poll(), FEED_POLL_MS);
        this.timer.unref();
      }
      return id;
    } finally {
      this.reading = false;
      this.drain();
      this.pollIfAsked();
    }
  }

  /** The feed topic's handler: the fast path, or a wait behind the read that fills a gap. */
  readonly onMessage = (message: ChangeMessage): void => {
    const seq = message.seq;
    if (seq === undefined) return;
    if (this.reading) {
      this.waiting.push(message);
      return;
    }
    if (seq <= this.delivered) return; // already delivered (read from the log first)
    if (seq === this.delivered + 1) {
      this.delivered = seq;
      this.host.route(message);
      if (this.waiters.length > 0) this.wake();
      return;
    }
    this.waiting.push(message);
    void this.readThrough(seq - 1);
  };

  /**
   * Checks the log's head now (after a PubSub reconnect, a commit of entries the database wrote, another
   * connection's commit); also runs every `FEED_POLL_MS`. Asked while a read is in flight, it runs once
   * that read ends: the entries that read could not see are not left to the next timer.
   */
  poll(): void {
    if (this.closed || !this.ready) return;
    if (this.reading) {
      this.pollAgain = true;
      return;
    }
    this.pollAgain = false;
    this.reading = true;
    this.log.newestSeq().then(
      (head) => {
        this.reading = false;
        if (head > this.delivered) void this.readThrough(head);
        else {
          this.drain();
          this.pollIfAsked();
        }
      },
      (error: unknown) => {
        this.reading = false;
        this.drain();
        logger.warn('change feed: reading the log head failed', { error: String((error as Error)?.message ?? error) });
      },
    );
  }

  /** Delivers the log's entries up to `target` (inclusive) that were not delivered yet, then what waited. */
  private async readThrough(target: number): Promise<void> {
    this.reading = true;
    try {
      while (this.delivered < target) {
        const models = this.host.observedModels();
        if (models.length === 0) {
          this.delivered = target;
          break;
        }
        const entries = await this.log.read(this.delivered, target, { models }, READ_PAGE);
        for (const entry of entries) {
          if (entry.seq <= this.delivered) continue;
          this.delivered = entry.seq;
          // Entries the database wrote are always read from the log: that is their live path, not a replay.
          if (!this.log.databaseModels.has(entry.model)) this.log.stats.replayed++;
          this.host.route(messageOf(entry));
        }
        if (entries.length < READ_PAGE) this.delivered = target;
      }
    } catch (error) {
      // The database did not answer: what waits stays queued, and the next poll tries again.
      logger.warn('change feed: reading the log failed', { error: String((error as Error)?.message ?? error) });
      this.reading = false;
      return;
    }
    this.reading = false;
    this.wake();
    this.drain();
    this.pollIfAsked();
  }

  /** Runs the poll asked for during a read, once no read is in flight. */
  private pollIfAsked(): void {
    if (this.pollAgain && !this.reading) this.poll();
  }

  /** The last sequence number delivered here. */
  get cursor(): number {
    return this.delivered;
  }

  /**
   * Resolves once everything committed so far has been delivered here (the log's head read now), so a
   * subscription added next hears only of what commits after it (a shared PubSub may still carry
   * older changes toward this process).
   */
  async reachHead(): Promise<void> {
    const head = await this.log.newestSeq();
    if (head <= this.delivered) return;
    const reached = new Promise<void>((resolve) => this.waiters.push({ seq: head, resolve }));
    // A read in flight may stop short of this head: a poll after it reads the rest.
    if (!this.reading) void this.readThrough(head);
    else this.pollAgain = true;
    await reached;
  }

  private wake(): void {
    for (let index = this.waiters.length - 1; index >= 0; index--) {
      const waiter = this.waiters[index]!;
      if (waiter.seq <= this.delivered) {
        this.waiters.splice(index, 1);
        waiter.resolve();
      }
    }
  }

  /** Hands on the messages that waited behind a read (one of them may start another). */
  private drain(): void {
    if (this.waiting.length === 0) return;
    const waiting = this.waiting.splice(0);
    for (let index = 0; index < waiting.length; index++) {
      if (this.reading) {
        // A gap started another read: the rest wait behind it again, in order.
        this.waiting.push(...waiting.slice(index));
        return;
      }
      this.onMessage(waiting[index]!);
    }
  }

  /**
   * Replays the entries `after < seq <= upTo` matching `filter` to `deliver`, in order (a subscription
   * made `since` a position).
   */
  async replay(after: number, upTo: number, filter: LogFilter, deliver: (message: ChangeMessage) => void): Promise<void> {
    let from = after;
    while (from < upTo) {
      const entries = await this.log.read(from, upTo, filter, READ_PAGE);
      for (const entry of entries) {
        this.log.stats.replayed++;
        deliver(messageOf(entry));
      }
      if (entries.length < READ_PAGE) break;
      from = entries[entries.length - 1]!.seq;
    }
  }

  /** Stops polling. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
