/**
 * LiveModel: an Objection base class whose static hooks turn every ORM write, instance-level or
 * query-level, into change records (one per affected row), published after the transaction commits.
 * Rows are read only when someone listens to the model.
 */
import { Model, type StaticHookArguments } from 'objection';
import { deferUntilCommit, isTransaction } from '../events/after-commit.js';
import { getChangeHub } from '../events/current.js';
import type { ChangeRecord, Row } from '../events/records.js';

const CAPTURED = Symbol('dcrf-gateway.captured');

type CaptureStack = Row[][];

function capturedStack(args: StaticHookArguments<any>): CaptureStack {
  const context = args.context as unknown as Record<symbol, CaptureStack>;
  return (context[CAPTURED] ??= []);
}

export class LiveModel extends Model {
  /** The name topics and change records use; the class name unless overridden. */
  static get changeName(): string {
    return this.name;
  }

  static override async beforeUpdate(args: StaticHookArguments<any>): Promise<void> {
    await captureRows(this, args);
  }

  static override async afterUpdate(args: StaticHookArguments<any>): Promise<void> {
    const before = capturedStack(args).pop();
    if (!before || before.length === 0) return;
    const pkColumn = this.idColumn as string;
    const after = await readRows(this, args, before.map((row) => row[pkColumn]));
    const byPk = new Map(after.map((row) => [String(row[pkColumn]), row]));
    const records: ChangeRecord[] = [];
    for (const row of before) {
      const now = byPk.get(String(row[pkColumn]));
      if (now) records.push({ model: this.changeName, action: 'update', pk: row[pkColumn], before: row, after: now });
    }
    emit(args, records);
  }

  static override async afterInsert(args: StaticHookArguments<any>): Promise<void> {
    if (!getChangeHub().isObserved(this.changeName)) return;
    const inserted = (Array.isArray(args.result) ? args.result : [args.result]).filter(Boolean) as Model[];
    const pks = inserted.map((model) => model.$id()).filter((pk) => pk !== undefined && pk !== null);
    if (pks.length === 0) return;
    const rows = await readRows(this, args, pks);
    const pkColumn = this.idColumn as string;
    emit(
      args,
      rows.map((row) => ({ model: this.changeName, action: 'create', pk: row[pkColumn], after: row })),
    );
  }

  static override async beforeDelete(args: StaticHookArguments<any>): Promise<void> {
    await captureRows(this, args);
  }

  static override async afterDelete(args: StaticHookArguments<any>): Promise<void> {
    const before = capturedStack(args).pop();
    if (!before || before.length === 0) return;
    const pkColumn = this.idColumn as string;
    emit(
      args,
      before.map((row) => ({ model: this.changeName, action: 'delete', pk: row[pkColumn], before: row, after: null })),
    );
  }
}

/** Reads the rows a write is about to touch (query-level writes included), if anyone listens. */
async function captureRows(modelClass: typeof LiveModel, args: StaticHookArguments<any>): Promise<void> {
  const stack = capturedStack(args);
  if (!getChangeHub().isObserved(modelClass.changeName)) {
    stack.push([]);
    return;
  }
  const rows = (await args.asFindQuery().toKnexQuery()) as Row[];
  stack.push(rows.map((row) => ({ ...row })));
}

async function readRows(modelClass: typeof LiveModel, args: StaticHookArguments<any>, pks: unknown[]): Promise<Row[]> {
  const knex = args.transaction ?? modelClass.knex();
  const rows = (await knex(modelClass.tableName).whereIn(modelClass.idColumn as string, pks as any[])) as Row[];
  return rows.map((row) => ({ ...row }));
}

function emit(args: StaticHookArguments<any>, records: ChangeRecord[]): void {
  if (records.length === 0) return;
  const hub = getChangeHub();
  const publish = (committed: ChangeRecord[]) => hub.publishChanges(committed);
  if (isTransaction(args.transaction)) deferUntilCommit(args.transaction, records, publish);
  else publish(records);
}
