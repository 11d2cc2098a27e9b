/**
 * Wakes the change feed when another connection (another process, `psql`, the `sqlite3` shell) commits
 * entries the database wrote into the change log, so they reach subscribers without waiting for the
 * feed's slow poll. This process's own writes wake it after their commit (live-query-builder.ts).
 * - PostgreSQL: a dedicated connection (not from the knex pool) LISTENs on the triggers' channel; it
 *   reconnects with backoff and wakes the feed on every (re)connect, so what committed while it was
 *   away is read too.
 * - SQLite: a dedicated read-only connection checks `PRAGMA data_version` every `intervalMs` (default
 *   100 ms): the number changes when any other connection commits to the file; a check costs
 *   microseconds and reads no table.
 */
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import type pg from 'pg';
import { logger } from '../../logger.js';
import { CAPTURE_CHANNEL } from './postgres-triggers.js';

/** How often SQLite's `data_version` is checked by default (milliseconds). */
export const DEFAULT_CAPTURE_CHECK_MS = 100;
/** The `application_name` of the PostgreSQL connection that listens for the triggers' notifications. */
export const CAPTURE_LISTENER_NAME = 'dcrf-gateway-capture';
const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 5000;

/** A running watcher. */
export interface CaptureWatcher {
  close(): Promise<void>;
}

/**
 * Watches `knex`'s database for commits of other connections and calls `wake` for each; undefined
 * for a database that cannot be watched (SQLite in memory: no other connection can write to it).
 */
export function watchCommits(knex: Knex, wake: () => void, intervalMs = DEFAULT_CAPTURE_CHECK_MS): CaptureWatcher | undefined {
  const config = knex.client.config as Knex.Config;
  if (config.client === 'better-sqlite3') {
    const filename = (config.connection as { filename?: string } | undefined)?.filename;
    return filename && filename !== ':memory:' ? watchDataVersion(filename, wake, intervalMs) : undefined;
  }
  return listen(config.connection, wake);
}

/** SQLite: `PRAGMA data_version` on a read-only connection of its own, on a timer. */
function watchDataVersion(filename: string, wake: () => void, intervalMs: number): CaptureWatcher {
  const db = new Database(filename, { readonly: true, fileMustExist: true });
  const version = db.prepare('pragma data_version').pluck();
  let last = version.get();
  const timer = setInterval(() => {
    try {
      const now = version.get();
      if (now !== last) {
        last = now;
        wake();
      }
    } catch (error) {
      logger.warn('capture: checking the database for other writers failed', { error: String((error as Error)?.message ?? error) });
    }
  }, intervalMs);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      db.close();
    },
  };
}

/** PostgreSQL: LISTEN on a connection of its own, reconnected with backoff. */
function listen(connection: Knex.Config['connection'], wake: () => void): CaptureWatcher {
  const { Client } = createRequire(import.meta.url)('pg') as typeof pg;
  let client: pg.Client | undefined;
  let closed = false;
  let delay = RECONNECT_FIRST_MS;
  let retry: NodeJS.Timeout | undefined;

  const reconnectLater = (error: unknown) => {
    if (closed) return;
    logger.warn('capture: the change notification connection failed; reconnecting', {
      error: String((error as Error)?.message ?? error),
      inMs: delay,
    });
    retry = setTimeout(connect, delay);
    retry.unref();
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  };

  async function connect(): Promise<void> {
    if (closed) return;
    const settings = typeof connection === 'function' ? await (connection as () => unknown)() : connection;
    const config = typeof settings === 'string' ? { connectionString: settings } : (settings as pg.ClientConfig);
    // Named, so a DBA (or a test) can tell it in pg_stat_activity.
    const own = new Client({ ...config, application_name: CAPTURE_LISTENER_NAME });
    client = own;
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      own.removeAllListeners('notification');
      own.end().catch(() => undefined);
      if (client === own) client = undefined;
      reconnectLater(error);
    };
    own.on('error', fail);
    own.on('end', () => fail(new Error('connection ended')));
    own.on('notification', () => wake());
    try {
      await own.connect();
      await own.query(`listen ${CAPTURE_CHANNEL}`);
    } catch (error) {
      fail(error);
      return;
    }
    if (closed) {
      failed = true;
      await own.end().catch(() => undefined);
      return;
    }
    delay = RECONNECT_FIRST_MS;
    // Whatever committed while no connection listened is read now.
    wake();
  }

  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const own = client;
      client = undefined;
      if (own) {
        own.removeAllListeners('end');
        own.removeAllListeners('error');
        own.on('error', () => undefined);
        await own.end().catch(() => undefined);
      }
    },
  };
}
