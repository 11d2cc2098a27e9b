/**
 * Holds change records on the knex transaction that made them and hands them on only when that
 * transaction commits. A savepoint (nested transaction) folds its records into its parent when it
 * is released and drops them when it rolls back; a rollback of the outer transaction drops all.
 */
import { ChangeSet, type ChangeRecord } from './records.js';
import { logger } from '../logger.js';

/** The parts of a knex transaction (its "transactor") this module reads. */
export interface KnexTransactionLike {
  isTransaction?: boolean;
  executionPromise?: Promise<unknown>;
  parentTransaction?: KnexTransactionLike;
  isCompleted?: () => boolean;
  rollback?: (...args: unknown[]) => unknown;
  commit?: (...args: unknown[]) => unknown;
}

const pending = new WeakMap<object, PendingChanges>();
const rolledBack = new WeakSet<object>();

/** True when `connection` is an open knex transaction rather than the knex instance itself. */
export function isTransaction(connection: unknown): connection is KnexTransactionLike {
  return Boolean(connection && (connection as KnexTransactionLike).isTransaction);
}

/** The outermost transaction around `trx` (itself when it is not a savepoint). */
export function outermostOf(trx: KnexTransactionLike): KnexTransactionLike {
  let outermost = trx;
  while (outermost.parentTransaction && isTransaction(outermost.parentTransaction)) outermost = outermost.parentTransaction;
  return outermost;
}

/**
 * knex resolves (not rejects) a transaction's execution promise when it is rolled back without an
 * error (`trx.rollback()`), exactly as on commit. Marking the rollback is the only way to tell the
 * two apart, so the transaction's own `rollback` is wrapped once records wait on it.
 */
function watchRollback(trx: KnexTransactionLike): void {
  const rollback = trx.rollback;
  if (typeof rollback !== 'function') return;
  trx.rollback = function (this: unknown, ...args: unknown[]) {
    rolledBack.add(trx);
    return rollback.apply(this, args);
  };
}

/** Runs inside the outermost transaction just before its COMMIT, with its folded records (the change log's append). */
export type BeforeCommit = (trx: KnexTransactionLike, records: ChangeRecord[]) => Promise<void>;

/**
 * Wraps a transaction's `commit` (knex calls the property, whether the transaction's container
 * resolved or the caller commits by hand). A savepoint hands its records to the enclosing transaction
 * as it is released (before, so that nothing races the enclosing commit); the outermost runs
 * `beforeCommit` with its folded records first (a failure there fails the commit, so the transaction
 * rolls back) and keeps them for publishing once the commit succeeded.
 */
function watchCommit(trx: KnexTransactionLike, state: PendingChanges): void {
  const commit = trx.commit;
  if (typeof commit !== 'function') return;
  trx.commit = async function (this: unknown, ...args: unknown[]) {
    const records = state.set.records();
    state.set = new ChangeSet();
    const parent = trx.parentTransaction;
    if (parent && isTransaction(parent)) {
      if (records.length > 0) deferUntilCommit(parent, records, state.publish, state.beforeCommit);
      return commit.apply(this, args);
    }
    if (records.length > 0 && state.beforeCommit) await state.beforeCommit(trx, records);
    state.committed = records;
    return commit.apply(this, args);
  };
}

/** What waits on one transaction: its records so far, and what to do with them. */
interface PendingChanges {
  set: ChangeSet;
  /** The records the commit took (set by the wrapped commit of the outermost transaction). */
  committed?: ChangeRecord[];
  publish: (records: ChangeRecord[]) => void;
  beforeCommit?: BeforeCommit;
}

/**
 * Queues `records` until `trx` (and every transaction around it) commits, then calls `publish` once
 * with the folded records of the outermost transaction; `beforeCommit`, when given, runs with them
 * inside the outermost transaction just before its COMMIT.
 */
export function deferUntilCommit(
  trx: KnexTransactionLike,
  records: ChangeRecord[],
  publish: (records: ChangeRecord[]) => void,
  beforeCommit?: BeforeCommit,
): void {
  let state = pending.get(trx);
  if (!state) {
    const done = trx.executionPromise;
    if (!done) {
      // Not a transaction we can watch: nothing tells us about commit, so publish now.
      publish(new ChangeSet().addAll(records).records());
      return;
    }
    const own: PendingChanges = { set: new ChangeSet(), publish, beforeCommit };
    state = own;
    pending.set(trx, own);
    watchRollback(trx);
    watchCommit(trx, own);
    done
      .then(
        () => {
          pending.delete(trx);
          if (rolledBack.has(trx)) return;
          const parent = trx.parentTransaction;
          if (parent && isTransaction(parent)) return; // handed to the enclosing transaction on release
          // A commit knex ran without the wrapper (none known): the records are still in the set.
          const committed = own.committed ?? own.set.records();
          if (committed.length > 0) publish(committed);
        },
        () => pending.delete(trx),
      )
      // Nobody awaits this chain: a failure must be logged, never an unhandled rejection.
      .catch((error: unknown) => logger.error('publishing committed changes failed', { error: String((error as Error)?.stack ?? error) }));
  }
  state.set.addAll(records);
}
