/**
 * Database connections from a URL: `sqlite:<path>`, `sqlite::memory:`, or `postgres://...`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import knexFactory, { type Knex } from 'knex';
import { allowTransactionsOnConnection, type BusyStats, beginWhenUnlocked, DEFAULT_BUSY_TIMEOUT_MS, waitOutBusy } from './sqlite-busy.js';
import { cachePreparedStatements } from './statement-cache.js';

/** The default DATABASE_URL: a SQLite file under ./data. */
export const DEFAULT_DATABASE_URL = 'sqlite:./data/demo.sqlite3';

export type DatabaseKind = 'sqlite' | 'postgres';

/** Which kind of database a URL names; throws on an unknown scheme. */
export function databaseKind(url: string): DatabaseKind {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return 'postgres';
  throw new Error(`DATABASE_URL must start with sqlite: or postgres:// (got "${url.split(':')[0]}:...")`);
}

/**
 * PostgreSQL's date and time types (date, time, timestamp, timestamptz, interval, timetz) as the text
 * the server sends: `pg` would make a `date` a Date at local midnight (another day once sent as UTC)
 * and drop a timestamp's microseconds. The serializer's date fields read the text.
 */
const PG_TEXT_TYPES = new Set([1082, 1083, 1114, 1184, 1186, 1266]);

/** `pg`'s type parsers with those types kept as text (`pg` is loaded only for a PostgreSQL URL: importing it has side effects). */
function pgTypes(): { getTypeParser(oid: number, format?: string): unknown } {
  const { types } = createRequire(import.meta.url)('pg') as typeof import('pg');
  return { getTypeParser: (oid, format) => (PG_TEXT_TYPES.has(oid) ? (text: string) => text : types.getTypeParser(oid, format as 'text')) };
}

/** Options of `knexConfig` and `openDatabase`. */
export interface DatabaseOptions {
  /**
   * SQLite: how long a write waits for another connection's write lock before it fails with
   * `DatabaseBusy` (503, retryable); waited on timers, never by blocking the process. Default 5 s
   * (the CLI and `createApp` pass `DATABASE_BUSY_TIMEOUT`); 0 fails at once. PostgreSQL: unused.
   */
  busyTimeoutMs?: number;
}

/** Where `knexConfig` keeps a SQLite database's busy counters on its config (knex copies config keys to its client's). */
const BUSY_STATS = Symbol.for('dcrf-gateway.sqliteBusyStats');

/** A SQLite config with its busy counters and timeout. */
type BusyConfig = Knex.Config & { [BUSY_STATS]?: BusyStats & { timeoutMs: number } };

/** How often writes on a knex opened by `openDatabase`/`knexConfig` met another connection's lock (SQLite); undefined otherwise. */
export function sqliteBusyStats(knex: Knex): BusyStats | undefined {
  return (knex.client.config as { [BUSY_STATS]?: BusyStats } | undefined)?.[BUSY_STATS];
}

/** knex configuration for a DATABASE_URL. */
export function knexConfig(url: string, options: DatabaseOptions = {}): Knex.Config {
  if (databaseKind(url) === 'postgres') {
    return { client: 'pg', connection: { connectionString: url, types: pgTypes() } as Knex.PgConnectionConfig, pool: { min: 0, max: 10 } };
  }
  const file = url.slice('sqlite:'.length);
  const memory = file === ':memory:' || file === '';
  if (!memory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isFinite(busyTimeoutMs) || busyTimeoutMs < 0) throw new RangeError(`busyTimeoutMs must be 0 or more (got ${busyTimeoutMs})`);
  const busyStats: BusyStats = { waits: 0, timeouts: 0, groupCommits: 0, groupedTransactions: 0 };
  const config: BusyConfig = {
    client: 'better-sqlite3',
    connection: { filename: memory ? ':memory:' : file },
    useNullAsDefault: true,
    // One connection: SQLite serializes writers anyway, and one connection keeps ":memory:" one database.
    pool: {
      min: 1,
      max: 1,
      idleTimeoutMillis: Number.MAX_SAFE_INTEGER,
      afterCreate(connection: Database.Database, done: (error: Error | null, connection: unknown) => void) {
        try {
          if (!memory) connection.pragma('journal_mode = WAL');
          connection.pragma('foreign_keys = ON');
          connection.pragma('synchronous = NORMAL');
          cachePreparedStatements(connection);
          waitOutBusy(connection, busyTimeoutMs, busyStats);
          done(null, connection);
        } catch (error) {
          done(error as Error, connection);
        }
      },
    },
  };
  config[BUSY_STATS] = Object.assign(busyStats, { timeoutMs: busyTimeoutMs });
  return config;
}

/**
 * Opens a knex instance for a DATABASE_URL. On a SQLite file its transactions also give the pool's one
 * connection back while they wait for another connection's write lock, so the process's other
 * queries go on meanwhile (db/sqlite-busy.ts).
 */
export function openDatabase(url: string, options: DatabaseOptions = {}): Knex {
  const config = knexConfig(url, options);
  const knex = knexFactory(config);
  const busy = (config as BusyConfig)[BUSY_STATS];
  if (busy) {
    if ((config.connection as { filename: string }).filename !== ':memory:') beginWhenUnlocked(knex, busy.timeoutMs, busy);
    allowTransactionsOnConnection(knex, busy.timeoutMs, busy);
  }
  return knex;
}

/** PostgreSQL's SQLSTATEs for a value its column type cannot hold (out of range, unparsable, a NUL in text). */
const INVALID_VALUE_CODES = new Set(['22003', '22P02', '22007', '22008', '22021']);

/** Whether a query failed because a parameter does not fit its column's type (a lookup miss, not a fault). */
export function isInvalidValueError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && INVALID_VALUE_CODES.has(code);
}

/**
 * Whether a model's table exists. A `schema.table` name is looked up in that schema (knex's `hasTable`
 * takes the whole name as one table of the current schema).
 */
export function hasTable(knex: Knex, name: string): Promise<boolean> {
  const dot = name.indexOf('.');
  if (dot < 0) return knex.schema.hasTable(name);
  return knex.schema.withSchema(name.slice(0, dot)).hasTable(name.slice(dot + 1));
}
