/**
 * Holds change records on the knex transaction that made them and hands them on only when that
 * transaction commits. A savepoint (nested transaction) folds its records into its parent when it
 * is released and drops them when it rolls back; a rollback of the outer transaction drops all.
 */
import { ChangeSet, type ChangeRecord } from './records.js';

/** The parts of a knex transaction this module reads. */
interface KnexTransactionLike {
  isTransaction?: boolean;
  executionPromise?: Promise<unknown>;
  parentTransaction?: KnexTransactionLike;
  isCompleted?: () => boolean;
}

const pending = new WeakMap<object, ChangeSet>();

/** True when `connection` is an open knex transaction rather than the knex instance itself. */
export function isTransaction(connection: unknown): connection is KnexTransactionLike {
  return Boolean(connection && (connection as KnexTransactionLike).isTransaction);
}

/**
 * Queues `records` until `trx` (and every transaction around it) commits, then calls `publish` once
 * with the folded records of the outermost transaction.
 */
export function deferUntilCommit(
  trx: KnexTransactionLike,
  records: ChangeRecord[],
  publish: (records: ChangeRecord[]) => void,
): void {
  let set = pending.get(trx);
  if (!set) {
    set = new ChangeSet();
    pending.set(trx, set);
    const own = set;
    const done = trx.executionPromise;
    if (!done) {
      // Not a transaction we can watch: nothing tells us about commit, so publish now.
      publish(records);
      pending.delete(trx);
      return;
    }
    done.then(
      () => {
        pending.delete(trx);
        const parent = trx.parentTransaction;
        if (parent && isTransaction(parent) && !parent.isCompleted?.()) {
          deferUntilCommit(parent, own.records(), publish);
        } else if (own.size) {
          publish(own.records());
        }
      },
      () => pending.delete(trx),
    );
  }
  set.addAll(records);
}
