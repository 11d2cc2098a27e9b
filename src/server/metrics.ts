/**
 * The gateway's Prometheus metrics (`GET /metrics`). Each gateway owns a registry of its own rather
 * than prom-client's global one, so several gateways in one process (tests, embedding) never collide.
 * Counters are cheap to bump on the hot path: per-socket label children are bound once at accept.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry, type Counter as CounterType } from 'prom-client';
import type { ChangeHub } from '../events/hub.js';
import type { SessionObserver } from '../dcrf/session.js';
import type { BusyStats } from '../db/sqlite-busy.js';
import { countsFramesOut } from '../text-frames.js';

/** Limits whose hits are counted (`dcrf_gateway_limit_hits_total{limit=...}`). */
export type LimitName =
  | 'frame_size'
  | 'rate'
  | 'rate_close'
  | 'subscriptions'
  | 'slow_consumer'
  | 'sockets_per_ip'
  | 'origin'
  | 'inbound_queue'
  | 'retained_bytes'
  | 'key_length'
  | 'detached_actions'
  | 'sockets'
  | 'host'
  | 'graphql_length'
  | 'graphql_tokens'
  | 'graphql_nodes'
  | 'graphql_aliases'
  | 'graphql_depth'
  | 'graphql_cost'
  | 'graphql_introspection'
  | 'signal_body_size'
  | 'signal_rate';

/** Why an event meant for a socket was not sent. */
export type DropReason = 'socket_closed' | 'slow_consumer' | 'user_inactive';

export interface GatewayMetricsOptions {
  /** The change hub whose counters (published, delivered, handler errors) are reported at each scrape. */
  hub?: () => ChangeHub | undefined;
  /** A name prefix for every metric; default `dcrf_gateway_`. */
  prefix?: string;
  /** How often SQLite writes met another connection's write lock (db/sqlite-busy.ts); read at each scrape. */
  databaseBusy?: () => BusyStats | undefined;
}

/** Every counter one gateway reports; also the session observer the gateway hands to DCRF sessions. */
export class GatewayMetrics
  implements Required<Pick<SessionObserver, 'throttled' | 'slowConsumerClosed' | 'actionCompleted' | 'eventDropped' | 'limitHit'>>
{
  readonly registry = new Registry();
  private readonly socketsOpen: Gauge<'protocol'>;
  private readonly socketsTotal: Counter<'protocol'>;
  private readonly actions: Counter<'stream' | 'action' | 'status'>;
  private readonly limitHits: Counter<'limit'>;
  private readonly upgradesRefused: Counter<'status'>;
  private readonly slowConsumerCloses: Counter;
  private readonly eventsDropped: Counter<'reason'>;
  private readonly pubsubReconnects: Counter<'client'>;
  private readonly watchedEngines = new WeakSet<object>();

  constructor(options: GatewayMetricsOptions = {}) {
    const p = options.prefix ?? 'dcrf_gateway_';
    const registers = [this.registry];
    this.socketsOpen = new Gauge({
      name: `${p}sockets_open`,
      help: 'Open WebSocket connections by negotiated protocol.',
      labelNames: ['protocol'],
      registers,
    });
    this.socketsTotal = new Counter({
      name: `${p}sockets_opened_total`,
      help: 'WebSocket connections accepted, by protocol.',
      labelNames: ['protocol'],
      registers,
    });
    // Frames are counted in plain numbers on the hot path and handed to prom-client at scrape time.
    const frameCounter = (name: string, help: string, counts: Map<string, { in: number; out: number }>, side: 'in' | 'out') =>
      new Counter({
        name: `${p}${name}`,
        help,
        labelNames: ['protocol'],
        registers,
        collect(this: CounterType<'protocol'>) {
          this.reset();
          for (const [protocol, count] of counts) if (count[side]) this.inc({ protocol }, count[side]);
        },
      });
    // Registered with the registry, which reads them at scrape time from the plain frame counts.
    frameCounter('frames_in_total', 'Frames received, by protocol.', this.frameCounts, 'in');
    frameCounter('frames_out_total', 'Frames sent, by protocol.', this.frameCounts, 'out');
    this.actions = new Counter({
      name: `${p}dcrf_actions_total`,
      help: 'DCRF actions answered, by stream, action and response status ("none" when the action sent no reply).',
      labelNames: ['stream', 'action', 'status'],
      registers,
    });
    this.limitHits = new Counter({
      name: `${p}limit_hits_total`,
      help: 'Frames, subscriptions or sockets refused by a limit.',
      labelNames: ['limit'],
      registers,
    });
    this.upgradesRefused = new Counter({
      name: `${p}upgrades_refused_total`,
      help: 'WebSocket upgrades refused, by HTTP status.',
      labelNames: ['status'],
      registers,
    });
    this.slowConsumerCloses = new Counter({
      name: `${p}slow_consumer_closes_total`,
      help: 'Sockets closed 1013 because their unsent output passed the bound.',
      registers,
    });
    this.eventsDropped = new Counter({
      name: `${p}events_dropped_total`,
      help: 'Events not sent to a socket, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.pubsubReconnects = new Counter({
      name: `${p}pubsub_reconnects_total`,
      help: 'Reconnections of the shared PubSub (Redis) clients.',
      labelNames: ['client'],
      registers,
    });
    // The hub keeps plain numbers; they are read at scrape time so publishing pays nothing extra.
    const hubCounter = (name: string, help: string, read: (hub: ChangeHub) => number) =>
      new Counter({
        name: `${p}${name}`,
        help,
        registers,
        collect(this: CounterType) {
          const hub = options.hub?.();
          this.reset();
          if (hub) this.inc(read(hub));
        },
      });
    hubCounter(
      'events_published_total',
      'Change messages published to the PubSub by this process (changes of models the database captures are read from the change log by every process instead).',
      (hub) => hub.stats.published,
    );
    hubCounter('events_delivered_total', 'Change messages handed to local subscription handlers.', (hub) => hub.stats.delivered);
    hubCounter(
      'events_lost_total',
      'Change messages the PubSub refused (their subscribers never see them).',
      (hub) => (hub.stats as { lost?: number }).lost ?? 0,
    );
    hubCounter('event_handler_errors_total', 'Subscription handlers that threw (logged, never fatal).', (hub) => hub.stats.handlerErrors);
    // The change log (docs/positions.md): counters kept by the log, gauges measured at scrape time.
    hubCounter(
      'events_replayed_total',
      'Changes read back from the change log: resumed subscriptions and gaps filled.',
      (hub) => hub.changeLog?.stats.replayed ?? 0,
    );
    hubCounter(
      'positions_expired_total',
      'Positions refused as expired (pruned, or of another log).',
      (hub) => hub.changeLog?.stats.expired ?? 0,
    );
    const busyCounter = (name: string, help: string, read: (stats: BusyStats) => number) =>
      new Counter({
        name: `${p}${name}`,
        help,
        registers,
        collect(this: CounterType) {
          const stats = options.databaseBusy?.();
          this.reset();
          if (stats) this.inc(read(stats));
        },
      });
    busyCounter(
      'database_busy_waits_total',
      'SQLite writes that found another connection holding the write lock and waited.',
      (s) => s.waits,
    );
    busyCounter(
      'database_busy_timeouts_total',
      'Of those, the writes refused at DATABASE_BUSY_TIMEOUT (503 Database busy).',
      (s) => s.timeouts,
    );
    busyCounter(
      'database_group_commits_total',
      'SQLite COMMITs of direct writes; each keeps the writes that arrived together (group commit).',
      (s) => s.groupCommits,
    );
    busyCounter(
      'database_grouped_writes_total',
      'Direct writes those COMMITs kept (divided by the COMMITs: writes per COMMIT).',
      (s) => s.groupedTransactions,
    );
    const logGauge = (name: string, help: string, read: (hub: ChangeHub) => Promise<number>) =>
      new Gauge({
        name: `${p}${name}`,
        help,
        registers,
        async collect(this: Gauge) {
          const hub = options.hub?.();
          this.set(hub?.changeLog ? await read(hub).catch(() => 0) : 0);
        },
      });
    logGauge('change_log_position', 'The newest position this process knows of, as its sequence number.', async (hub) =>
      Math.max(hub.feedCursor, hub.changeLog!.stats.headSeq),
    );
    logGauge(
      'change_log_rows',
      'Entries in the change log (newest minus oldest sequence number, plus one).',
      async (hub) => (await hub.changeLog!.measure()).rows,
    );
    logGauge(
      'change_log_oldest_seconds',
      'Age of the oldest change log entry.',
      async (hub) => (await hub.changeLog!.measure()).oldestSeconds,
    );
    const watchPubSub = (hub: ChangeHub) => this.watchPubSub(hub);
    new Gauge({
      name: `${p}pubsub_topics`,
      help: 'PubSub topics this process is subscribed to.',
      registers,
      collect(this: Gauge) {
        const hub = options.hub?.();
        this.set(hub ? hub.topicCount : 0);
        // A hub installed after this gateway started gets its reconnects counted from the first scrape.
        if (hub) watchPubSub(hub);
      },
    });
    const hub = options.hub?.();
    if (hub) this.watchPubSub(hub);
  }

  /** Counts reconnects of a Redis-backed hub's clients (graphql-redis-subscriptions exposes them). */
  watchPubSub(hub: ChangeHub): void {
    const engine = hub.engine as unknown as { getPublisher?: () => EventSource; getSubscriber?: () => EventSource };
    if (this.watchedEngines.has(engine) || typeof engine.getSubscriber !== 'function') return;
    this.watchedEngines.add(engine);
    for (const [client, source] of [
      ['publisher', engine.getPublisher?.()],
      ['subscriber', engine.getSubscriber()],
    ] as const) {
      source?.on?.('reconnecting', () => this.pubsubReconnects.inc({ client }));
    }
  }

  /**
   * Called when a socket is accepted; returns its protocol's counters (shared by every socket of the
   * protocol, so an idle socket costs no allocation here): `frameIn`, `countedSend` (a `ws.send` that
   * counts the frame) and `closed` (call it exactly once, when the socket closes).
   */
  socketOpened(protocol: string): SocketCounters {
    this.socketsOpen.inc({ protocol });
    this.socketsTotal.inc({ protocol });
    let counters = this.socketCounters.get(protocol);
    if (!counters) {
      const count = { in: 0, out: 0 };
      this.frameCounts.set(protocol, count);
      const frameOut = () => {
        count.out++;
      };
      counters = {
        frameIn: () => {
          count.in++;
        },
        frameOut,
        // Frames written straight into a socket's stream (text-frames.ts) are counted with frameOut too.
        countedSend: countsFramesOut(function (
          this: { constructor: { prototype: { send: Function } } },
          data: unknown,
          options?: unknown,
          cb?: unknown,
        ) {
          frameOut();
          return this.constructor.prototype.send.call(this, data, options, cb);
        }, frameOut),
        closed: () => this.socketsOpen.dec({ protocol }),
      };
      this.socketCounters.set(protocol, counters);
    }
    return counters;
  }

  private readonly socketCounters = new Map<string, SocketCounters>();
  /** Frames in and out per protocol, read by the two frame counters at scrape time. */
  private readonly frameCounts = new Map<string, { in: number; out: number }>();

  upgradeRefused(status: number, limit?: LimitName): void {
    this.upgradesRefused.inc({ status: String(status) });
    if (limit) this.limitHits.inc({ limit });
  }

  limitHit(limit: LimitName): void {
    this.limitHits.inc({ limit });
  }

  throttled(): void {
    this.limitHits.inc({ limit: 'rate' });
  }

  slowConsumerClosed(): void {
    this.slowConsumerCloses.inc();
    this.limitHits.inc({ limit: 'slow_consumer' });
  }

  actionCompleted(stream: string, action: string, status: number | null): void {
    // One label child per (stream, action, status), looked up by a flat key: prom-client hashes a
    // labels object on every inc() otherwise, a cost paid on every request.
    const key = `${stream}\u0000${action}\u0000${status}`;
    let child = this.actionChildren.get(key);
    if (!child) {
      child = this.actions.labels(stream, action, status === null ? 'none' : String(status));
      this.actionChildren.set(key, child);
    }
    child.inc();
  }

  private readonly actionChildren = new Map<string, { inc(): void }>();

  eventDropped(reason: DropReason): void {
    this.eventsDropped.inc({ reason });
  }

  /** The Prometheus text of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Answers `GET /metrics`. */
  async serve(_request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await this.text();
    response.writeHead(200, { 'content-type': this.registry.contentType, 'content-length': Buffer.byteLength(body) });
    response.end(body);
  }
}

/** One protocol's per-socket counters (see `GatewayMetrics.socketOpened`). */
export interface SocketCounters {
  frameIn: () => void;
  frameOut: () => void;
  /** A replacement for a socket's `send` that counts each frame sent. */
  countedSend: (...args: any[]) => unknown;
  closed: () => void;
}

interface EventSource {
  on?(event: string, listener: () => void): unknown;
}

/** Calls each observer's hook in turn (the metrics and a user-supplied observer). */
export function combineObservers(...observers: Array<SessionObserver | undefined>): SessionObserver {
  const list = observers.filter((observer): observer is SessionObserver => Boolean(observer));
  if (list.length === 1) return list[0]!;
  // Per hook, only the observers that have it: frameOut runs on every event sent, so a hook one observer
  // has is that observer's own function, and a hook nobody has is absent.
  const each = <K extends keyof SessionObserver>(key: K): SessionObserver[K] => {
    const having = list.filter((observer) => typeof observer[key] === 'function');
    if (having.length === 0) return undefined;
    const call = (observer: SessionObserver) => observer[key] as (...args: unknown[]) => void;
    if (having.length === 1) return call(having[0]!).bind(having[0]) as SessionObserver[K];
    return ((...args: unknown[]) => {
      for (const observer of having) call(observer).apply(observer, args);
    }) as SessionObserver[K];
  };
  return {
    frameIn: each('frameIn'),
    frameOut: each('frameOut'),
    throttled: each('throttled'),
    slowConsumerClosed: each('slowConsumerClosed'),
    actionCompleted: each('actionCompleted'),
    eventDropped: each('eventDropped'),
    limitHit: each('limitHit'),
  };
}
