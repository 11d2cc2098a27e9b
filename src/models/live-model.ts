/**
 * LiveModel: an Objection base class whose static hooks turn every ORM write, instance-level or
 * query-level, into change records (one per affected row), published after the transaction commits.
 * Rows are read only when someone listens to the model: a write nobody observes costs no query.
 *
 * What a write does: `beforeUpdate`/`beforeDelete` read the rows the query is about to touch
 * (`asFindQuery()`, so `.where(...)` bulk writes are seen); `afterUpdate`/`afterInsert` re-read the
 * touched rows by primary key inside the same transaction; the records wait on the transaction
 * (events/after-commit.ts) and reach the change hub when it commits. The hub is the one of the runtime
 * the query's knex belongs to (`Runtime.of`): a knex no runtime is bound to captures nothing.
 * A write asked with `WrittenRows` in its query context also records the rows it left there, so the
 * caller replies with them without reading them again.
 * Limits: a single-column primary key; an update that changes a row's primary key is not reported.
 *
 * A model the database captures itself (`static capture = 'database'` and its capture migration ran:
 * events/capture/) records nothing here: its table's triggers write each change into the change log,
 * and that entry is the change's one event, whoever wrote the row.
 */
import { Model, type StaticHookArguments } from 'objection';
import type { Knex } from 'knex';
import { deferUntilCommit, isTransaction, type KnexTransactionLike } from '../events/after-commit.js';
import type { ChangeLog } from '../events/change-log.js';
import type { ChangeHub } from '../events/hub.js';
import type { CaptureMode } from '../events/capture/registry.js';
import type { ChangeRecord, Row } from '../events/records.js';
import { Runtime } from '../runtime.js';
import { LiveQueryBuilder, whenStatementEnds } from './live-query-builder.js';
import { carriesRelated, embedRelated } from './related.js';

/** What a write's before hook read: the rows it is about to touch and the hub it publishes to (none: unobserved). */
interface Captured {
  rows: Row[];
  hub: ChangeHub | undefined;
}

/** Rows captured before a write, by the query builder that runs it (its before and after hooks share it). */
const captured = new WeakMap<object, Captured[]>();

/** How many primary keys one re-read query names (SQLite allows 32766 variables, PostgreSQL 65535). */
const READ_CHUNK = 500;

/**
 * The key pairing a write's before and after hooks. Objection hands both hooks the executing query
 * builder, but only behind a private symbol of the hook arguments; without it, the query context
 * (shared with child queries, hence the stack) is the fallback.
 */
function captureKey(args: StaticHookArguments<any>): object {
  for (const symbol of Object.getOwnPropertySymbols(args)) {
    const value = (args as unknown as Record<symbol, unknown>)[symbol];
    if (value && typeof value === 'object') return value;
  }
  return args.context as object;
}

function pushCaptured(args: StaticHookArguments<any>, rows: Captured): void {
  const key = captureKey(args);
  const stack = captured.get(key);
  if (stack) stack.push(rows);
  else captured.set(key, [rows]);
}

function popCaptured(args: StaticHookArguments<any>): Captured | undefined {
  const key = captureKey(args);
  const stack = captured.get(key);
  const rows = stack?.pop();
  if (stack && stack.length === 0) captured.delete(key);
  return rows;
}

/** The query-context key under which a write finds where to record the rows it left. */
const WRITTEN = Symbol('dcrf-gateway.writtenRows');

/**
 * The rows a write left, as its model hooks read them for the change event (same transaction, same
 * `SELECT *`): `Model.query(trx).context(written.context).patch(...)`, then `written.get(pk)`.
 * Empty when nothing was read (nobody observes the model): read the row yourself then.
 */
export class WrittenRows {
  private readonly rows = new Map<string, Row>();

  /** The query context entry that asks a write's hooks to record here. */
  get context(): Record<symbol, WrittenRows> {
    return { [WRITTEN]: this };
  }

  /** The row with this primary key as the write left it, if the hooks read it. */
  get(pk: unknown): Row | undefined {
    return this.rows.get(String(pk));
  }

  /** @internal Called by the hooks. */
  add(pk: unknown, row: Row): void {
    this.rows.set(String(pk), row);
  }
}

/** Records the rows a write left, when its query asked for them (see WrittenRows). */
function recordWritten(args: StaticHookArguments<any>, rows: Row[], pkColumn: string): void {
  const written = (args.context as unknown as Record<symbol, WrittenRows | undefined>)[WRITTEN];
  if (written) for (const row of rows) written.add(row[pkColumn], row);
}

/** The hub a write of `modelClass` publishes to: its runtime's, when anyone listens to the model. */
function observingHub(modelClass: typeof LiveModel, args: StaticHookArguments<any>): ChangeHub | undefined {
  const hub = Runtime.hubForWrite(args.transaction, modelClass.changeName);
  return hub?.captures(modelClass.changeName) ? hub : undefined;
}

/** Whether the database captures this model's writes itself: its hooks then record nothing. */
function capturedByDatabase(modelClass: typeof LiveModel, args: StaticHookArguments<any>): boolean {
  return Runtime.of(args.transaction)?.databaseCapture.covers(modelClass) ?? false;
}

export class LiveModel extends Model {
  static override QueryBuilder = LiveQueryBuilder;
  declare QueryBuilderType: LiveQueryBuilder<this>;

  /**
   * How this model's changes are captured. `orm` (the default): these hooks record the writes made
   * through the ORM, in this process. `database`: triggers installed by `captureMigration` record
   * every write of the table, whoever makes it (another service, `psql`, the `sqlite3` shell), and the
   * hooks stand down. Subclasses inherit it; set `LiveModel.capture = 'database'` for an app-wide default.
   */
  static capture: CaptureMode = 'orm';

  /** The name topics and change records use; the class name unless overridden. */
  static get changeName(): string {
    return this.name;
  }

  static override async beforeUpdate(args: StaticHookArguments<any>): Promise<void> {
    if (capturedByDatabase(this, args)) return;
    await captureRows(this, args);
  }

  static override async afterUpdate(args: StaticHookArguments<any>): Promise<void> {
    if (capturedByDatabase(this, args)) return;
    const captured = popCaptured(args);
    if (!captured || captured.rows.length === 0) return;
    const before = captured.rows;
    const pkColumn = this.idColumn as string;
    const after = await readRows(
      this,
      args,
      before.map((row) => row[pkColumn]),
    );
    recordWritten(args, after, pkColumn);
    const byPk = new Map(after.map((row) => [String(row[pkColumn]), row]));
    const records: ChangeRecord[] = [];
    for (const row of before) {
      const now = byPk.get(String(row[pkColumn]));
      if (now) records.push({ model: this.changeName, action: 'update', pk: row[pkColumn], before: row, after: now });
    }
    emit(captured.hub, args, records);
  }

  static override async afterInsert(args: StaticHookArguments<any>): Promise<void> {
    if (capturedByDatabase(this, args)) return;
    const hub = observingHub(this, args);
    if (!hub) {
      trackUnobserved(this, args, true);
      return;
    }
    const inserted = ((args.result ?? []) as unknown[]).filter((item): item is Model => item instanceof Model);
    const pks = inserted.map((model) => model.$id()).filter((pk) => pk !== undefined && pk !== null);
    if (pks.length === 0) return;
    const rows = await readRows(this, args, pks);
    const pkColumn = this.idColumn as string;
    recordWritten(args, rows, pkColumn);
    emit(
      hub,
      args,
      rows.map((row) => ({ model: this.changeName, action: 'create', pk: row[pkColumn], after: row })),
    );
  }

  static override async beforeDelete(args: StaticHookArguments<any>): Promise<void> {
    if (capturedByDatabase(this, args)) return;
    await captureRows(this, args);
  }

  static override async afterDelete(args: StaticHookArguments<any>): Promise<void> {
    if (capturedByDatabase(this, args)) return;
    const captured = popCaptured(args);
    if (!captured || captured.rows.length === 0) return;
    const pkColumn = this.idColumn as string;
    emit(
      captured.hub,
      args,
      captured.rows.map((row) => ({ model: this.changeName, action: 'delete', pk: row[pkColumn], before: row, after: null })),
    );
  }
}

/**
 * Tells the hub that a write of the model goes ahead without capturing anything, until it can no
 * longer commit unseen: the end of its transaction, or of its statement outside one.
 */
function trackUnobserved(modelClass: typeof LiveModel, args: StaticHookArguments<any>, statementDone: boolean): void {
  const hub = Runtime.of(args.transaction)?.hub;
  if (!hub) return;
  const trx = args.transaction;
  if (isTransaction(trx)) {
    if (trx.executionPromise) hub.unobservedWrites.track(modelClass.changeName, trx.executionPromise);
    return;
  }
  if (statementDone) return; // autocommitted already: it committed before anyone listened
  let end!: () => void;
  hub.unobservedWrites.track(modelClass.changeName, new Promise<void>((resolve) => (end = resolve)));
  whenStatementEnds(args.context, end);
}

/** Reads the rows a write is about to touch (query-level writes included), if anyone listens. */
async function captureRows(modelClass: typeof LiveModel, args: StaticHookArguments<any>): Promise<void> {
  const hub = observingHub(modelClass, args);
  if (!hub) {
    pushCaptured(args, { rows: [], hub });
    trackUnobserved(modelClass, args, false);
    return;
  }
  const rows = ((await args.asFindQuery().toKnexQuery()) as Row[]).map((row) => ({ ...row }));
  if (carriesRelated(modelClass)) await embedRelated(modelClass, rows, args.transaction ?? modelClass.knex());
  pushCaptured(args, { rows, hub });
}

/** Reads rows by primary key on the write's own connection (inside its transaction, if any). */
async function readRows(modelClass: typeof LiveModel, args: StaticHookArguments<any>, pks: unknown[]): Promise<Row[]> {
  const knex = args.transaction ?? modelClass.knex();
  const rows: Row[] = [];
  for (let start = 0; start < pks.length; start += READ_CHUNK) {
    const chunk = pks.slice(start, start + READ_CHUNK);
    const found = (await knex(modelClass.tableName).whereIn(modelClass.idColumn as string, chunk as any[])) as Row[];
    for (const row of found) rows.push({ ...row });
  }
  if (carriesRelated(modelClass)) await embedRelated(modelClass, rows, knex);
  return rows;
}

/** Hands records to the hub: after the commit of the write's transaction, or now for an autocommit write. */
function emit(hub: ChangeHub | undefined, args: StaticHookArguments<any>, records: ChangeRecord[]): void {
  if (!hub || records.length === 0) return;
  const publish = (committed: ChangeRecord[]) => hub.publishChanges(committed);
  const log = hub.changeLog;
  // With a change log, every write runs in a transaction (LiveQueryBuilder opens one for an
  // autocommit write of an observed model): its records are logged atomically with it.
  if (isTransaction(args.transaction))
    deferUntilCommit(args.transaction, records, publish, log ? (trx, folded) => logRecords(log, trx, folded) : undefined);
  else publish(records);
}

/** Appends a transaction's folded records to the change log and gives each its sequence number. */
async function logRecords(log: ChangeLog, trx: KnexTransactionLike, records: ChangeRecord[]): Promise<void> {
  const seqs = await log.append(trx as unknown as Knex.Transaction, records);
  records.forEach((record, index) => {
    record.seq = seqs[index];
  });
}
