/**
 * The runtime: one per app, bound to one database (knex) and one PubSub, created once and handed to
 * the `Gateway` (Feathers' `app` is the model). It owns what the app's sockets, resources and model
 * writes share: the change hub with its topics and group fan-outs, the model-interest registry (Redis),
 * the primary-key fast reader (SQLite). Two runtimes in one process share nothing: a write to one's
 * database is an event of that runtime only.
 *
 * Definitions stay runtime-independent (resources, consumers and observers are module-level objects
 * in user code, like DRF views); they find the runtime at call time: everything per socket through
 * the connection scope the gateway builds (`scope.runtime`), model hooks through the knex or
 * transaction their query runs on (`Runtime.of`).
 *
 *   const knex = openDatabase(process.env.DATABASE_URL);
 *   const runtime = await Runtime.create({ knex, redisUrl: process.env.REDIS_URL });
 *   const gateway = new Gateway({ runtime, streams });
 */
import type { PubSubEngine } from 'graphql-subscriptions';
import type { Knex } from 'knex';
import { isPostgres, refuseIdentifierMappers } from './db/connection.js';
import { FastReader } from './db/fast-read.js';
import { ChangeLog, DEFAULT_MAX_ROWS, DEFAULT_RETENTION_MS, type Position } from './events/change-log.js';
import type { HubHandle } from './events/hub-handle.js';
import type { ChangeHub } from './events/hub.js';
import { createHubFor } from './events/pubsub.js';
import { DatabaseCapture } from './events/capture/database-capture.js';
import { CommitAnnouncer } from './events/capture/announce.js';
import { type CaptureWatcher, watchCommits } from './events/capture/wake.js';
import { logger } from './logger.js';

export interface RuntimeOptions {
  /** The app's database. Only an app without models (signals and group messages alone) may leave it out. */
  knex?: Knex;
  /** `redis://...`: share events with every process on the same Redis and prefix. Default: in-process. */
  redisUrl?: string;
  /** Redis channel prefix (default `dcrf-gateway:`). */
  redisPrefix?: string;
  /** A PubSub engine of your own, used instead of Redis or the in-process one (a test double, another broker). */
  pubsub?: PubSubEngine;
  /** Whether every subscriber of `pubsub` lives in this process (default false: it may be shared). */
  pubsubInProcess?: boolean;
  /**
   * How long the change log keeps entries, in ms (default 24 h): older positions expire. The CLI
   * reads it from `CHANGE_LOG_RETENTION` / `--change-log-retention`; the library reads no environment.
   */
  changeLogRetentionMs?: number;
  /** How many entries the change log keeps at most (default 1,000,000; CLI: `CHANGE_LOG_MAX_ROWS`). */
  changeLogMaxRows?: number;
  /**
   * Whether to use the change log when the database has one (default true). False: events are
   * best-effort and carry no positions, as before the log (benchmarks, tests of that path).
   */
  changeLog?: boolean;
  /**
   * SQLite with database capture: how often (ms, default 100) `PRAGMA data_version` is checked for
   * commits of other connections (the `sqlite3` shell, another process). PostgreSQL is told by LISTEN.
   */
  captureCheckMs?: number;
}

/** What protocols ask of the change log: the head (anchored reads) and whether a position resumes. */
export interface PositionSource {
  /** Whether this app's database has the change log (its migration ran): events then carry positions. */
  readonly enabled: boolean;
  /** The log's epoch (its identity). */
  readonly epoch?: string;
  /** How long entries are kept, in ms (the log's retention), when there is a log. */
  readonly retentionMs?: number;
  /** How many entries are kept at most, when there is a log. */
  readonly maxRows?: number;
  /**
   * The newest committed position (the epoch's zero position when the log is empty). Name the models
   * a read is about: they are captured from then on (as by a first subscription), so every change of
   * theirs after this position is in the log for the subscribe that follows the read.
   */
  head(models?: string | readonly string[]): Promise<Position>;
  /** Throws PositionError unless `position` resumes. */
  check(position: string): Promise<void>;
}

/**
 * A position asked of an app that keeps no change log (its migrations lack `changeLogMigration`, or
 * `Runtime.create({ changeLog: false })`): the protocols answer it as a bad request (DCRF 400, GraphQL
 * `POSITIONS_OFF`), not as a server error.
 */
export class ChangeLogOff extends Error {
  /** What a client is told. */
  static readonly MESSAGE = 'This server keeps no change log: positions are off.';
  constructor() {
    super(ChangeLogOff.MESSAGE);
    this.name = 'ChangeLogOff';
  }
}

/** The change log of an app whose database has none: every position asked of it is refused with ChangeLogOff. */
const NO_CHANGE_LOG: PositionSource = {
  enabled: false,
  epoch: undefined,
  head: () => Promise.reject(new ChangeLogOff()),
  check: () => Promise.reject(new ChangeLogOff()),
};

/** How often one process prunes the change log and measures it for /metrics. */
const LOG_MAINTENANCE_MS = 60_000;

/**
 * Each knex client's runtime, keyed by the client's config object: knex gives every client a copy of
 * its own and hands that same object to the client of each of its transactions (and savepoints), so
 * a query finds its runtime whether it runs on the knex instance or inside a transaction.
 */
const runtimes = new WeakMap<object, Runtime>();
/** Clients already reported as having no runtime (said once each, at debug). */
const unboundReported = new WeakSet<object>();

/** The config object of a knex instance or transaction (see `runtimes`). */
function clientKey(knex: unknown): object | undefined {
  const config = (knex as { client?: { config?: unknown } } | null | undefined)?.client?.config;
  return config && typeof config === 'object' ? config : undefined;
}

export class Runtime {
  /** The change hub: topics, group fan-outs, memo of serialized frames, stats. */
  readonly hub: ChangeHub;
  readonly #database: Knex | undefined;
  readonly #pubsub: HubHandle;
  /** Whether the database is a SQLite file, which the fast reader can read. */
  readonly #fastReadable: boolean;
  #fastReader: FastReader | undefined;
  #closed = false;
  #changeLog: ChangeLog | undefined;
  #positions: PositionSource | undefined;
  #maintenance: NodeJS.Timeout | undefined;
  #capture: DatabaseCapture = DatabaseCapture.unlogged;
  #captureWatcher: CaptureWatcher | undefined;
  #announcer: CommitAnnouncer | undefined;

  private constructor(database: Knex | undefined, pubsub: HubHandle) {
    this.#database = database;
    this.#pubsub = pubsub;
    this.hub = pubsub.hub;
    this.#fastReadable = database !== undefined && FastReader.fileOf(database) !== undefined;
  }

  /**
   * A runtime bound to `options.knex` (writes through it and its transactions publish to this
   * runtime's hub) and to one PubSub: in-process by default, Redis with `redisUrl`, or `pubsub`.
   */
  static async create(options: RuntimeOptions = {}): Promise<Runtime> {
    const key = options.knex ? clientKey(options.knex) : undefined;
    if (options.knex && !key) throw new TypeError('Runtime.create: `knex` is not a knex instance');
    if (options.knex) refuseIdentifierMappers(options.knex, 'Runtime.create');
    if (key && runtimes.has(key)) throw new Error('Runtime.create: this knex instance already has a runtime (close it first)');
    for (const name of ['changeLogRetentionMs', 'changeLogMaxRows'] as const) {
      const value = options[name];
      if (value !== undefined && !(Number.isFinite(value) && value >= 0))
        throw new TypeError(`Runtime.create: \`${name}\` must be a number ≥ 0 (got ${String(value)})`);
    }
    const log =
      options.knex && options.changeLog !== false
        ? await ChangeLog.open(options.knex, {
            retentionMs: options.changeLogRetentionMs ?? DEFAULT_RETENTION_MS,
            maxRows: options.changeLogMaxRows ?? DEFAULT_MAX_ROWS,
          })
        : undefined;
    // The models the database captures itself: only with the log, which is where their events come from.
    const capture = log && options.knex ? await DatabaseCapture.load(options.knex) : DatabaseCapture.unlogged;
    const pubsub = await createHubFor(options.redisUrl, options);
    const runtime = new Runtime(options.knex, pubsub);
    if (log) runtime.#useLog(log);
    runtime.#capture = capture;
    if (log && capture.active) log.databaseModels = new Set(capture.tables.keys());
    // Checked again: another runtime may have been bound while the PubSub connected.
    if (key && runtimes.has(key)) {
      await pubsub.close();
      throw new Error('Runtime.create: this knex instance already has a runtime (close it first)');
    }
    if (key) runtimes.set(key, runtime);
    if (capture.active && options.knex) {
      runtime.#captureWatcher = watchCommits(options.knex, () => runtime.hub.catchUp(), options.captureCheckMs);
      if (isPostgres(options.knex)) runtime.#announcer = new CommitAnnouncer(options.knex);
    }
    return runtime;
  }

  #useLog(log: ChangeLog): void {
    this.#changeLog = log;
    this.hub.attachLog(log);
    const hub = this.hub;
    this.#positions = {
      enabled: true,
      epoch: log.epoch,
      retentionMs: log.retentionMs,
      maxRows: log.maxRows,
      async head(models) {
        if (models !== undefined) await Promise.all((typeof models === 'string' ? [models] : models).map((model) => hub.retain(model)));
        return log.head();
      },
      check: (position) => log.check(position),
    };
    const maintain = () =>
      log
        .prune()
        .then(() => log.measure())
        .catch((error: unknown) => logger.warn('change log maintenance failed', { error: String((error as Error)?.message ?? error) }));
    this.#maintenance = setInterval(maintain, LOG_MAINTENANCE_MS);
    this.#maintenance.unref();
  }

  /** The change log: positions of committed changes (`enabled` false when the app's database has none). */
  get changeLog(): PositionSource {
    return this.#positions ?? NO_CHANGE_LOG;
  }

  /**
   * Whether this runtime tells the other processes of its PostgreSQL database about its direct writes'
   * commits itself (announce.ts), so their triggers need not.
   */
  get announcesCommits(): boolean {
    return this.#announcer !== undefined;
  }

  /** Tells the other processes that a direct write committed (PostgreSQL with database capture; else nothing): `directTransaction` does, after a quiet one. */
  announceCommit(): void {
    this.#announcer?.announce();
  }

  /** Which models the database captures itself (triggers write their changes into the change log). */
  get databaseCapture(): DatabaseCapture {
    return this.#capture;
  }

  /** The runtime a knex instance or transaction belongs to (bound by `Runtime.create`); undefined when none. */
  static of(knex: unknown): Runtime | undefined {
    const key = clientKey(knex);
    return key ? runtimes.get(key) : undefined;
  }

  /**
   * The hub a model write on `knex` publishes to. A write on a knex no runtime is bound to captures
   * nothing (said once per knex, at debug): nobody could be listening.
   */
  static hubForWrite(knex: unknown, model: string): ChangeHub | undefined {
    const key = clientKey(knex);
    const runtime = key ? runtimes.get(key) : undefined;
    if (runtime) return runtime.hub;
    if (key && !unboundReported.has(key)) {
      unboundReported.add(key);
      logger.debug('model write on a knex without a runtime: no change event', { model });
    }
    return undefined;
  }

  /** The app's database; throws for a runtime created without one. */
  get knex(): Knex {
    if (!this.#database) throw new Error('This runtime has no database: pass `knex` to Runtime.create');
    return this.#database;
  }

  /** Whether this runtime has a database. */
  get hasDatabase(): boolean {
    return this.#database !== undefined;
  }

  /**
   * The primary-key fast path (a read-only SQLite connection of its own), or undefined: another
   * database, or a SQLite file that does not exist yet (opened on first use once it does).
   */
  /** A write of this process committed on a connection without knex (a resource's direct write): reads see it from now on. */
  writeCommitted(): void {
    this.#fastReader?.writeCommitted();
  }

  get fastReader(): FastReader | undefined {
    return this.#fastReader ?? (this.#fastReadable && !this.#closed ? this.#openFastReader() : undefined);
  }

  #openFastReader(): FastReader | undefined {
    this.#fastReader = FastReader.forKnex(this.#database!);
    return this.#fastReader;
  }

  /** Whether the database and the PubSub answer (for /healthz). */
  async healthy(): Promise<boolean> {
    try {
      if (this.#database) await this.#database.raw('select 1');
    } catch {
      return false;
    }
    return this.#pubsub.healthy();
  }

  /**
   * Hands on what was published so far, closes the PubSub's connections and the fast reader, and
   * unbinds the knex (which stays open: whoever created it destroys it). Close the gateway first, and
   * let running transactions end, so their commits still publish.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#maintenance);
    await this.#captureWatcher?.close();
    this.#announcer?.close();
    this.hub.closeFeed();
    const key = this.#database ? clientKey(this.#database) : undefined;
    try {
      await this.#pubsub.close();
    } finally {
      this.#fastReader?.close();
      this.#fastReader = undefined;
      if (key && runtimes.get(key) === this) runtimes.delete(key);
    }
  }
}
