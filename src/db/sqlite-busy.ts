/**
 * Waiting out another connection's write lock on a shared SQLite file, without blocking the process.
 *
 * SQLite's own busy handler (`PRAGMA busy_timeout`) sleeps the calling thread, and better-sqlite3 runs
 * on Node's main thread: a write waiting 5 s would freeze every socket of the gateway for 5 s. Worse,
 * it never helps knex's transactions: knex opens them with a deferred `BEGIN`, so the first statement
 * takes a read snapshot and the first write must upgrade it to a write lock, and SQLite answers that
 * upgrade with SQLITE_BUSY at once, without calling the busy handler (waiting could deadlock two
 * upgraders) — hence "database is locked" at once, busy_timeout or not.
 *
 * So the connection runs with `busy_timeout = 0` and:
 * - a transaction begins with `BEGIN IMMEDIATE`, which takes the write lock up front (no upgrade later,
 *   so no statement inside it can meet SQLITE_BUSY); when the lock is held elsewhere it is retried on
 *   timers with a short backoff until the timeout, the event loop serving every other socket meanwhile;
 * - a statement outside a transaction (an autocommit write) that meets SQLITE_BUSY is retried the same
 *   way (it did nothing, so running it again is safe);
 * - past the timeout, or for SQLITE_BUSY inside a transaction someone opened deferred by hand, the
 *   caller gets `DatabaseBusy`: 503 "Database busy: try again." on every protocol.
 *
 * knex awaits the value of a statement's `run`/`all`, so a statement that has to wait returns a promise
 * and one that does not stays synchronous (the usual case costs one try/catch).
 *
 * That much holds for any knex built from `knexConfig`. The knex pool has one connection, so a
 * transaction waiting at its BEGIN would hold it, and every other query of the process (a list, a
 * GraphQL query, /healthz) would queue behind the wait. `openDatabase` therefore also makes each
 * transaction take the lock before it keeps the connection (`beginWhenUnlocked`): it tries
 * `BEGIN IMMEDIATE`, and while the lock is held elsewhere it hands the connection back to the pool
 * between tries, so reads go on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { DatabaseBusy } from '../errors.js';

/** How long a write waits for another connection's write lock by default (DATABASE_BUSY_TIMEOUT). */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** The pauses between tries, in ms; the last one repeats (SQLite's own handler backs off much the same way). */
const BACKOFF_MS = [1, 2, 5, 10, 15, 20];

/** How often writes met another connection's lock: kept per database for /metrics. */
export interface BusyStats {
  /** Statements (a transaction's BEGIN, an autocommit write) that found the database locked and waited. */
  waits: number;
  /** Of those, the ones that gave up at the timeout (answered DatabaseBusy). */
  timeouts: number;
  /** COMMITs of direct writes (transactionOnConnection): one per group of transactions. */
  groupCommits: number;
  /** Direct-write transactions those COMMITs kept: more than `groupCommits` when writes shared a COMMIT. */
  groupedTransactions: number;
}

/** Whether an error is SQLite's "database is locked" (SQLITE_BUSY and its extended codes). */
export function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** knex's transaction start: a deferred BEGIN, which is the one to take the write lock up front instead. */
const DEFERRED_BEGIN = /^\s*begin(\s+deferred)?(\s+transaction)?\s*;?\s*$/i;

const WAITING = Symbol('waits out SQLITE_BUSY');

type Runner = (...params: unknown[]) => unknown;

/**
 * Makes `db` wait out other connections' write locks asynchronously, for up to `timeoutMs`, as the
 * module comment describes. Call once, after any other wrapper of `db.prepare` (the statement cache).
 */
export function waitOutBusy(db: Database.Database, timeoutMs: number, stats: BusyStats): void {
  db.pragma('busy_timeout = 0');
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const statement = prepare(DEFERRED_BEGIN.test(sql) ? 'BEGIN IMMEDIATE' : sql) as Database.Statement & { [WAITING]?: true };
    if (!statement[WAITING]) {
      statement[WAITING] = true;
      statement.run = patient(db, statement.run.bind(statement), timeoutMs, stats) as typeof statement.run;
      if (statement.reader) statement.all = patient(db, statement.all.bind(statement), timeoutMs, stats) as typeof statement.all;
    }
    return statement;
  }) as Database.Database['prepare'];
}

/** `run` as it is when the database is free; a promise that retries it when another connection holds the lock. */
function patient(db: Database.Database, run: Runner, timeoutMs: number, stats: BusyStats): Runner {
  return (...params) => {
    try {
      return run(...params);
    } catch (error) {
      if (!isSqliteBusy(error)) throw error;
      // Inside a transaction the statement cannot be retried alone: the whole transaction has to be.
      if (db.inTransaction || timeoutMs <= 0) throw new DatabaseBusy();
      stats.waits++;
      return retry(() => run(...params), Date.now() + timeoutMs, stats);
    }
  };
}

/** The pause before try `attempt` (0-based), never past the deadline. */
function pause(attempt: number, deadline: number): Promise<void> {
  return sleep(Math.min(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)] as number, Math.max(0, deadline - Date.now())));
}

/** The parts of a knex transaction (knex's Transaction class) this module replaces. */
interface KnexTransaction {
  txid: string;
  begin(connection: unknown): Promise<unknown>;
  acquireConnection(config: { connection?: unknown } | undefined, use: (connection: unknown) => Promise<unknown>): Promise<unknown>;
}

/** The part of knex's client the lock-taking transactions use: its pool of one connection. */
interface PoolClient {
  acquireConnection(): Promise<Database.Database & { __knexTxId?: string }>;
  releaseConnection(connection: unknown): unknown;
}

/** How each SQLite knex made by `openDatabase` waits for the write lock (see `transactionOnConnection`). */
const lockSettings = new WeakMap<object, { timeoutMs: number; stats: BusyStats }>();

/**
 * Runs `use` on the pool's connection once `BEGIN IMMEDIATE` took the write lock there, giving the
 * connection back between tries while another connection holds the lock (up to `timeoutMs`, then
 * `DatabaseBusy`). The connection goes back to the pool when `use` settles; ending the transaction
 * is `use`'s job.
 */
async function withWriteLock<T>(
  client: PoolClient,
  timeoutMs: number,
  stats: BusyStats,
  use: (connection: Database.Database & { __knexTxId?: string }) => Promise<T>,
): Promise<T> {
  let deadline: number | undefined;
  for (let attempt = 0; ; attempt++) {
    const connection = await client.acquireConnection();
    try {
      if (begun(connection)) return await use(connection);
    } finally {
      client.releaseConnection(connection);
    }
    if (deadline === undefined) {
      if (timeoutMs <= 0) throw new DatabaseBusy();
      stats.waits++;
      deadline = Date.now() + timeoutMs;
    } else if (Date.now() >= deadline) {
      stats.timeouts++;
      throw new DatabaseBusy();
    }
    await pause(attempt, deadline);
  }
}

/**
 * Makes every top-level transaction of `knex` (a SQLite file) take the write lock with `BEGIN IMMEDIATE`
 * before it keeps the pool's connection, giving the connection back between tries while another
 * connection holds the lock (up to `timeoutMs`, then `DatabaseBusy`). A transaction on a connection
 * of the caller's (`{connection}`) and savepoints are left as knex makes them.
 */
export function beginWhenUnlocked(knex: Knex, timeoutMs: number, stats: BusyStats): void {
  const client = knex.client as unknown as PoolClient & { transaction(...args: unknown[]): KnexTransaction };
  const transaction = client.transaction;
  client.transaction = function (this: typeof client, ...args: unknown[]) {
    const trx = transaction.apply(this, args);
    // knex runs the transaction from a promise callback, so the instance can still be changed here.
    if (!args[2])
      trx.acquireConnection = (config, use) =>
        config?.connection
          ? Object.getPrototypeOf(trx).acquireConnection.call(trx, config, use)
          : withWriteLock(client, timeoutMs, stats, async (connection) => {
              connection.__knexTxId = trx.txid;
              // Begun already: knex's own BEGIN would fail inside the transaction.
              trx.begin = () => Promise.resolve();
              try {
                return await use(connection);
              } finally {
                delete connection.__knexTxId;
              }
            });
    return trx;
  };
}

/**
 * Lets `transactionOnConnection` run transactions of `knex` (a SQLite database `openDatabase` made),
 * waiting for the write lock as `beginWhenUnlocked` does.
 */
export function allowTransactionsOnConnection(knex: Knex, timeoutMs: number, stats: BusyStats): void {
  lockSettings.set(knex, { timeoutMs, stats });
}

/** Whether `transactionOnConnection` can run transactions of `knex`. */
export function runsTransactionsOnConnection(knex: Knex): boolean {
  return lockSettings.has(knex);
}

/**
 * Runs `work` in a transaction straight on the pool's connection: `BEGIN IMMEDIATE` (the write lock
 * waited for as `beginWhenUnlocked` waits), then `work`, then `COMMIT`; what `work` wrote is undone when
 * it throws. No knex transaction object is made (a new knex instance with its own client, events and
 * promises per transaction: a large share of a small write's cost), so `work` must not run knex
 * queries: it has the connection, and the pool has no other to give them (they would wait forever).
 * Only for a knex `allowTransactionsOnConnection` was called with.
 *
 * Group commit: the transactions that arrive in the same turn of the event loop (the writes of every
 * socket read in it), or while a group runs, wait in line and then run one after another inside one
 * `BEGIN IMMEDIATE … COMMIT`, up to MAX_GROUP of them, each in a SAVEPOINT of its own (a `work` that
 * throws rolls back to it: the others keep their writes). SQLite has one writer at a
 * time, so they would have waited for each other anyway; sharing the COMMIT shares its WAL writes,
 * file locks and the pool's hand-over, most of a small write's SQLite time. Each promise settles after
 * the COMMIT that keeps its writes (or, for a `work` that threw, once its writes are undone), so
 * nothing is answered or published before it is durable; a COMMIT that fails fails every `work` it
 * held, and an error after which SQLite ended the whole transaction itself (SQLITE_FULL, say) fails
 * the ones before it too.
 */
export function transactionOnConnection<T>(knex: Knex, work: (connection: Database.Database) => Promise<T>): Promise<T> {
  const settings = lockSettings.get(knex);
  if (!settings) throw new Error('transactionOnConnection: this knex was not opened by openDatabase on SQLite');
  const line = writeLineOf(knex);
  return new Promise<T>((resolve, reject) => {
    line.waiting.push({ work, resolve: resolve as (value: unknown) => void, reject });
    if (line.draining) return;
    line.draining = true;
    // From the check phase: the writes of every socket read in this turn of the loop are in line by then.
    setImmediate(() => void drain(knex.client as unknown as PoolClient, line, settings));
  });
}

/** Most transactions one COMMIT takes: bounds how long the last of them waits, and how long knex's own transactions wait for the connection. */
const MAX_GROUP = 64;

interface QueuedTransaction {
  work: (connection: Database.Database) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** The transactions of one database waiting for the write lock, and whether a group is being run. */
interface WriteLine {
  waiting: QueuedTransaction[];
  draining: boolean;
}

const writeLines = new WeakMap<Knex, WriteLine>();

function writeLineOf(knex: Knex): WriteLine {
  let line = writeLines.get(knex);
  if (!line) writeLines.set(knex, (line = { waiting: [], draining: false }));
  return line;
}

/** Runs groups until no transaction waits; the connection goes back to the pool between groups. */
async function drain(client: PoolClient, line: WriteLine, settings: { timeoutMs: number; stats: BusyStats }): Promise<void> {
  try {
    while (line.waiting.length) {
      try {
        await withWriteLock(client, settings.timeoutMs, settings.stats, (connection) => runGroup(connection, line, settings.stats));
      } catch (error) {
        // The write lock was not had in time (DatabaseBusy), or the pool failed: every waiting transaction fails alike.
        for (const each of line.waiting.splice(0)) each.reject(error);
      }
    }
  } finally {
    line.draining = false;
  }
}

/** One group in the transaction `withWriteLock` began: each waiting `work` in its savepoint, then one COMMIT. */
async function runGroup(connection: Database.Database, line: WriteLine, stats: BusyStats): Promise<void> {
  const statements = statementsOf(connection);
  const kept: Array<[QueuedTransaction, unknown]> = [];
  try {
    while (line.waiting.length && kept.length < MAX_GROUP) {
      const next = line.waiting.shift()!;
      let result: unknown;
      try {
        statements.savepoint.run();
        result = await next.work(connection);
      } catch (error) {
        next.reject(isSqliteBusy(error) ? new DatabaseBusy() : error);
        // SQLite ends the whole transaction itself on some errors: the writes kept so far are gone too.
        if (!connection.inTransaction) throw error;
        statements.rollbackToSavepoint.run();
        statements.releaseSavepoint.run();
        continue;
      }
      // Counted as kept before the RELEASE: should that fail, it fails with the rest.
      kept.push([next, result]);
      statements.releaseSavepoint.run();
    }
    statements.commit.run();
    if (kept.length) {
      stats.groupCommits++;
      stats.groupedTransactions += kept.length;
    }
  } catch (error) {
    try {
      if (connection.inTransaction) statements.rollback.run();
    } finally {
      for (const [each] of kept) each.reject(isSqliteBusy(error) ? new DatabaseBusy() : error);
    }
    return;
  }
  for (const [each, result] of kept) each.resolve(result);
}

/** A connection's own transaction statements. */
interface TransactionStatements {
  begin: Database.Statement;
  commit: Database.Statement;
  rollback: Database.Statement;
  savepoint: Database.Statement;
  rollbackToSavepoint: Database.Statement;
  releaseSavepoint: Database.Statement;
}

/**
 * Each connection's `BEGIN IMMEDIATE`, COMMIT, ROLLBACK and savepoint statements, prepared once
 * (`exec` compiles a statement on every transaction). Prepared with better-sqlite3's own `prepare`, not the connection's: its
 * statements wait out SQLITE_BUSY themselves, and here a busy lock must answer at once, so the pool's
 * connection can be given back.
 */
const transactionStatements = new WeakMap<Database.Database, TransactionStatements>();

function statementsOf(connection: Database.Database): TransactionStatements {
  let statements = transactionStatements.get(connection);
  if (!statements) {
    const prepare = (Object.getPrototypeOf(connection).prepare as Database.Database['prepare']).bind(connection);
    statements = {
      begin: prepare('BEGIN IMMEDIATE'),
      commit: prepare('COMMIT'),
      rollback: prepare('ROLLBACK'),
      savepoint: prepare('SAVEPOINT dcrf_direct_write'),
      rollbackToSavepoint: prepare('ROLLBACK TO dcrf_direct_write'),
      releaseSavepoint: prepare('RELEASE dcrf_direct_write'),
    };
    transactionStatements.set(connection, statements);
  }
  return statements;
}

/** Runs `BEGIN IMMEDIATE`; false when another connection holds the write lock. */
function begun(connection: Database.Database): boolean {
  try {
    statementsOf(connection).begin.run();
    return true;
  } catch (error) {
    if (isSqliteBusy(error)) return false;
    throw error;
  }
}

async function retry(run: () => unknown, deadline: number, stats: BusyStats): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    const left = deadline - Date.now();
    if (left <= 0) {
      stats.timeouts++;
      throw new DatabaseBusy();
    }
    await pause(attempt, deadline);
    try {
      return run();
    } catch (error) {
      if (!isSqliteBusy(error)) throw error;
    }
  }
}
