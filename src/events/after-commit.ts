/**
 * Holds change records on the knex transaction that made them and hands them on only when that
 * transaction commits. A savepoint (nested transaction) folds its records into its parent when it
 * is released and drops them when it rolls back; a rollback of the outer transaction drops all.
 */
import { ChangeSet, type ChangeRecord } from './records.js';
import { logger } from '../logger.js';

/** The parts of a knex transaction (its "transactor") this module reads. */
interface KnexTransactionLike {
  isTransaction?: boolean;
  executionPromise?: Promise<unknown>;
  parentTransaction?: KnexTransactionLike;
  isCompleted?: () => boolean;
  rollback?: (...args: unknown[]) => unknown;
}

const pending = new WeakMap<object, ChangeSet>();
const rolledBack = new WeakSet<object>();

/** True when `connection` is an open knex transaction rather than the knex instance itself. */
export function isTransaction(connection: unknown): connection is KnexTransactionLike {
  return Boolean(connection && (connection as KnexTransactionLike).isTransaction);
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

/**
 * Queues `records` until `trx` (and every transaction around it) commits, then calls `publish` once
 * with the folded records of the outermost transaction.
 */
export function deferUntilCommit(trx: KnexTransactionLike, records: ChangeRecord[], publish: (records: ChangeRecord[]) => void): void {
  let set = pending.get(trx);
  if (!set) {
    const done = trx.executionPromise;
    if (!done) {
      // Not a transaction we can watch: nothing tells us about commit, so publish now.
      publish(new ChangeSet().addAll(records).records());
      return;
    }
    set = new ChangeSet();
    pending.set(trx, set);
    watchRollback(trx);
    const own = set;
    done
      .then(
        () => {
          pending.delete(trx);
          if (rolledBack.has(trx) || own.size === 0) return;
          const parent = trx.parentTransaction;
          // A released savepoint: its records now belong to the enclosing transaction.
          if (parent && isTransaction(parent)) deferUntilCommit(parent, own.records(), publish);
          else publish(own.records());
        },
        () => pending.delete(trx),
      )
      // Nobody awaits this chain: a failure must be logged, never an unhandled rejection.
      .catch((error: unknown) => logger.error('publishing committed changes failed', { error: String((error as Error)?.stack ?? error) }));
  }
  set.addAll(records);
}
