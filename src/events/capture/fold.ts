/**
 * One event per row and transaction for ORM transactions on captured tables, as the ORM hooks give:
 * the triggers write an entry per row per statement, so a transaction of this process that wrote
 * captured rows in two statements or more folds its own entries just before its COMMIT (three patches
 * of one row: one update with the final state; a create then a delete: nothing), with the rules of
 * `mergeRecords`. Entries folded away leave holes in the sequence, which readers skip.
 * Which entries are the transaction's: on PostgreSQL, those its deferred triggers write when they are
 * fired early (`SET CONSTRAINTS ... IMMEDIATE`) under the log's append lock; on SQLite (one writer),
 * those after the log's newest entry read before the transaction's first captured write.
 * Writes made outside the ORM (psql, another service) are not folded: each of their statements is an
 * event, as Django's signals make one per save.
 */
import type { Knex } from 'knex';
import { type KnexTransactionLike, outermostOf } from '../after-commit.js';
import { APPEND_LOCK_KEY, CHANGE_LOG_TABLE, newestSeqOf } from '../change-log.js';
import { type ChangeAction, type ChangeRecord, mergeRecords } from '../records.js';
import { CAPTURE_ROW_TRIGGER } from './postgres-triggers.js';

/** What one ORM transaction wrote to captured tables so far. */
interface FoldState {
  statements: number;
  /** SQLite: the log's newest sequence number before the transaction's first captured write. */
  after?: number;
}

const states = new WeakMap<object, FoldState>();

/**
 * Called before each ORM write statement of a captured model inside a transaction: counts it, and
 * on the first one readies the fold at the outermost transaction's commit.
 */
export async function beforeCapturedWrite(trx: KnexTransactionLike, postgres: boolean): Promise<void> {
  const outermost = outermostOf(trx);
  let state = states.get(outermost);
  if (!state) {
    const own: FoldState = { statements: 0 };
    state = own;
    states.set(outermost, own);
    if (!postgres) own.after = await newestSeqOf(trx as unknown as Knex.Transaction, false);
    watchCommit(outermost, own, postgres);
  }
  state.statements++;
}

function watchCommit(trx: KnexTransactionLike, state: FoldState, postgres: boolean): void {
  const commit = trx.commit;
  if (typeof commit !== 'function') return;
  trx.commit = async function (this: unknown, ...args: unknown[]) {
    // One statement writes each row once: nothing to fold.
    if (state.statements >= 2) await fold(trx as unknown as Knex.Transaction, state, postgres);
    return commit.apply(this, args);
  };
}

/** A log row read back for folding. */
interface LoggedRow {
  seq: number;
  model: string;
  pk: string;
  action: ChangeAction | 'truncate';
  before_row: string | null;
  row_data: string;
}

/** The record a log row stands for (what the ORM hooks would have recorded for that statement). */
function recordOf(row: LoggedRow): ChangeRecord {
  const data = JSON.parse(row.row_data) as Record<string, unknown>;
  const before = row.before_row ? (JSON.parse(row.before_row) as Record<string, unknown>) : null;
  const action = row.action as ChangeAction;
  return { model: row.model, action, pk: JSON.parse(row.pk), before, after: action === 'delete' ? null : data };
}

async function fold(trx: Knex.Transaction, state: FoldState, postgres: boolean): Promise<void> {
  let after = state.after ?? 0;
  if (postgres) {
    await trx.raw('select pg_advisory_xact_lock(?)', [APPEND_LOCK_KEY]);
    after = await newestSeqOf(trx, true);
    // Fires this transaction's pending capture triggers now, under the lock: their entries follow `after`.
    await trx.raw(`set constraints ${CAPTURE_ROW_TRIGGER} immediate`);
  }
  const rows = (await trx(CHANGE_LOG_TABLE)
    .where('seq', '>', after)
    .orderBy('seq')
    .select('seq', 'model', 'pk', 'action', 'before_row', 'row_data')) as LoggedRow[];
  const byRow = new Map<string, LoggedRow[]>();
  for (const row of rows) {
    if (row.action === 'truncate') return; // a TRUNCATE among them: leave every entry as it is
    const key = `${row.model}\u0000${row.pk}`;
    const group = byRow.get(key);
    if (group) group.push(row);
    else byRow.set(key, [row]);
  }
  const drop: number[] = [];
  for (const group of byRow.values()) {
    if (group.length < 2) continue;
    let folded: ChangeRecord | null = recordOf(group[0]!);
    for (const row of group.slice(1)) folded = folded ? mergeRecords(folded, recordOf(row)) : { ...recordOf(row) };
    const [first, ...rest] = group;
    drop.push(...rest.map((row) => Number(row.seq)));
    if (!folded) {
      drop.push(Number(first!.seq));
      continue;
    }
    const data = folded.after ?? folded.last ?? folded.before ?? {};
    await trx(CHANGE_LOG_TABLE)
      .where('seq', first!.seq)
      .update({
        action: folded.action,
        before_row: folded.before ? JSON.stringify(folded.before) : null,
        row_data: JSON.stringify(data),
      });
  }
  for (let start = 0; start < drop.length; start += 500) {
    await trx(CHANGE_LOG_TABLE)
      .whereIn('seq', drop.slice(start, start + 500))
      .delete();
  }
}
