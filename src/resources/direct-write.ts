/**
 * A resource's writes on SQLite for a model the database captures, as prepared statements on the
 * transaction's own connection, without Objection's query builder: the UPDATE of a patch/update, the
 * INSERT of a create, the DELETE of a delete.
 *
 * Building a write through Objection and knex (operations, hooks, the compiled query, the capture's
 * bookkeeping around it) costs several times what SQLite spends running it. For a model the database
 * captures, the ORM's hooks stand down anyway: the table's trigger writes the change-log entry in the
 * same transaction, whoever runs the statement. So when nothing of the model's own can run around the
 * write (no instance or static hooks of its own for that operation, no `selectRelated`, no column
 * mappers, JSON attributes or database-JSON formatting), the statement Objection would have run is run
 * directly: the same SQL, the same values (`$toDatabaseJson` of the model instance the resource built),
 * the same bindings (knex's better-sqlite3 client turns dates and booleans into numbers). The resource
 * keeps everything else: its transaction, the lookup, permissions, validation, the read-back, and the
 * change's publication after commit (`LiveQueryBuilder` does that for the ORM path).
 *
 * One statement per transaction writes one row once, so the capture's fold (events/capture/fold.ts) has
 * nothing to do for it, as for a single ORM statement.
 */
import type { Knex } from 'knex';
import { Model, type ModelClass, type Transaction } from 'objection';
import { onConnection, type SqliteConnection } from '../db/connection.js';
import { LiveModel } from '../models/live-model.js';
import { LiveQueryBuilder } from '../models/live-query-builder.js';
import type { Runtime } from '../runtime.js';

/** What a direct write does: the operations Objection would run as an UPDATE, an INSERT or a DELETE. */
export type DirectWrite = 'update' | 'insert' | 'delete';

/** Instance methods Objection calls around any write, or that shape the row it writes. */
const SHAPING_HOOKS = [
  '$beforeValidate',
  '$validate',
  '$afterValidate',
  '$formatDatabaseJson',
  '$parseDatabaseJson',
  '$toDatabaseJson',
  '$omitFromDatabaseJson',
] as const;

/** Per operation, the instance and static hooks a model overriding one of takes the ORM path for. */
const HOOKS: Record<DirectWrite, { instance: readonly string[]; statics: readonly string[] }> = {
  update: { instance: ['$beforeUpdate', '$afterUpdate'], statics: ['beforeUpdate', 'afterUpdate'] },
  insert: { instance: ['$beforeInsert', '$afterInsert'], statics: ['beforeInsert', 'afterInsert'] },
  delete: { instance: ['$beforeDelete', '$afterDelete'], statics: ['beforeDelete', 'afterDelete'] },
};

/** The model class internals (untyped in Objection's typings) read here. */
interface ModelInternals {
  getColumnNameMappers(): unknown;
  getJsonAttributes(): string[];
  selectRelated?: readonly string[];
  QueryBuilder: unknown;
}

const eligibleModels: Record<DirectWrite, WeakMap<object, boolean>> = {
  update: new WeakMap(),
  insert: new WeakMap(),
  delete: new WeakMap(),
};

/**
 * Whether `operation` on `model` may run as one statement directly: a single-column key, Objection's
 * own instance methods, LiveModel's static hooks and query builder, and rows as the database holds them.
 */
export function writesDirectly(model: ModelClass<Model>, operation: DirectWrite): boolean {
  let eligible = eligibleModels[operation].get(model);
  if (eligible === undefined) {
    const internals = model as unknown as ModelInternals;
    const prototype = model.prototype as unknown as Record<string, unknown>;
    const base = Model.prototype as unknown as Record<string, unknown>;
    const { instance, statics } = HOOKS[operation];
    eligible =
      model.prototype instanceof LiveModel &&
      typeof model.idColumn === 'string' &&
      [...SHAPING_HOOKS, ...instance].every((name) => prototype[name] === base[name]) &&
      statics.every(
        (name) => (model as unknown as Record<string, unknown>)[name] === (LiveModel as unknown as Record<string, unknown>)[name],
      ) &&
      internals.QueryBuilder === LiveQueryBuilder &&
      !internals.getColumnNameMappers() &&
      internals.getJsonAttributes().length === 0 &&
      !internals.selectRelated?.length;
    eligibleModels[operation].set(model, eligible);
  }
  return eligible;
}

/** Whether `operation` on `model` on this runtime's database may run directly: SQLite, and the database captures the model. */
export function directWriteApplies(runtime: Runtime, model: ModelClass<Model>, operation: DirectWrite): boolean {
  return (
    (runtime.knex.client as { config?: { client?: unknown } }).config?.client === 'better-sqlite3' &&
    writesDirectly(model, operation) &&
    runtime.databaseCapture.covers(model as unknown as Parameters<Runtime['databaseCapture']['covers']>[0])
  );
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The UPDATE text per table, key and column list, made once (the connection's statement cache keys on it). */
const sqlTexts = new Map<string, string>();

function updateText(table: string, key: string, columns: string[]): string {
  const cacheKey = `update\u0000${table}\u0000${key}\u0000${columns.join('\u0000')}`;
  let text = sqlTexts.get(cacheKey);
  if (!text) {
    text = `update ${quote(table)} set ${columns.map((column) => `${quote(column)} = ?`).join(', ')} where ${quote(key)} = ?`;
    sqlTexts.set(cacheKey, text);
  }
  return text;
}

/** A value knex's better-sqlite3 client binds as is (after its date and boolean conversion), or undefined for one it does not. */
function binding(value: unknown): { value: unknown } | undefined {
  if (value instanceof Date) return { value: value.valueOf() };
  if (typeof value === 'boolean') return { value: Number(value) };
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return { value };
  return undefined;
}

/**
 * The columns and bindings of the UPDATE or INSERT Objection would run for `instance`, or undefined when
 * one value is something only the query builder knows how to write (a raw expression, a reference, JSON).
 */
export function columnsOf(instance: Model): { columns: string[]; values: unknown[] } | undefined {
  const json = instance.$toDatabaseJson() as Record<string, unknown>;
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const column of Object.keys(json)) {
    const raw = json[column];
    if (raw === undefined) continue;
    // A field expression (`data:path`, `data$path`) is the query builder's to write.
    if (column.includes(':') || column.includes('$')) return undefined;
    const bound = binding(raw);
    if (!bound) return undefined;
    columns.push(column);
    values.push(bound.value);
  }
  return { columns, values };
}

/**
 * Runs `update <table> set <columns> where <key> = <id>` on the connection `trx` holds, through the
 * connection's statement cache (and its wait for another connection's write lock).
 */
export async function runUpdate(
  trx: Transaction,
  table: string,
  key: string,
  id: unknown,
  update: { columns: string[]; values: unknown[] },
): Promise<void> {
  await onConnection(trx as unknown as Knex.Transaction, (connection: SqliteConnection) => runUpdateOn(connection, table, key, id, update));
}

/** The same UPDATE on a connection held already (a transaction of `transactionOnConnection`). */
export function runUpdateOn(
  connection: SqliteConnection,
  table: string,
  key: string,
  id: unknown,
  update: { columns: string[]; values: unknown[] },
): void {
  connection.prepare(updateText(table, key, update.columns)).run(...update.values, binding(id)?.value ?? id);
}

/** The INSERT text per table and column list, made once. */
function insertText(table: string, columns: string[]): string {
  const cacheKey = `insert\u0000${table}\u0000${columns.join('\u0000')}`;
  let text = sqlTexts.get(cacheKey);
  if (!text) {
    text = columns.length
      ? `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values (${columns.map(() => '?').join(', ')}) returning *`
      : `insert into ${quote(table)} default values returning *`;
    sqlTexts.set(cacheKey, text);
  }
  return text;
}

/** Runs the INSERT of `insert` on a connection held already; returns the row as stored (`returning *`). */
export function runInsertOn(
  connection: SqliteConnection,
  table: string,
  insert: { columns: string[]; values: unknown[] },
): Record<string, unknown> {
  return connection.prepare(insertText(table, insert.columns)).get(...insert.values) as Record<string, unknown>;
}

/** Runs `delete from <table> where <key> = <id>` on a connection held already. */
export function runDeleteOn(connection: SqliteConnection, table: string, key: string, id: unknown): void {
  const cacheKey = `delete\u0000${table}\u0000${key}`;
  let text = sqlTexts.get(cacheKey);
  if (!text) {
    text = `delete from ${quote(table)} where ${quote(key)} = ?`;
    sqlTexts.set(cacheKey, text);
  }
  connection.prepare(text).run(binding(id)?.value ?? id);
}
