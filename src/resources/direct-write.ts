/**
 * A resource's writes for a model the database captures, as statements straight on a connection,
 * without Objection's query builder or a knex transaction object: the UPDATE of a patch/update, the
 * INSERT of a create, the DELETE of a delete, with the lookup and the read-back, inside a transaction
 * of their own (`directTransaction`: SQLite's `transactionOnConnection`, or BEGIN/COMMIT on one of the
 * pool's PostgreSQL connections).
 *
 * Building a write through Objection and knex (operations, hooks, the compiled query, the capture's
 * bookkeeping around it, a knex instance per transaction) costs several times what the database spends
 * running it. For a model the database captures, the ORM's hooks stand down anyway: the table's trigger
 * writes the change-log entry in the same transaction, whoever runs the statement. So when nothing of
 * the model's own can run around the write (no instance or static hooks of its own for that operation,
 * no `selectRelated`, no column mappers, JSON attributes or database-JSON formatting), the statement
 * Objection would have run is run directly: the same SQL, the same values (`$toDatabaseJson` of the model
 * instance the resource built), the same bindings (knex's better-sqlite3 client turns dates and booleans
 * into numbers; `pg` takes them as they are). SQLite's statements come from the connection's statement
 * cache; PostgreSQL's are named prepared statements, parsed once per connection.
 *
 * One statement per transaction writes one row once, so the capture's fold (events/capture/fold.ts) has
 * nothing to do for it, as for a single ORM statement.
 */
import type { Knex } from 'knex';
import { Model, type ModelClass, type Transaction } from 'objection';
import {
  isPostgres,
  onConnection,
  type PgClient,
  quoteName as quote,
  quoteTable,
  type SqliteConnection,
  statementShape,
} from '../db/connection.js';
import { pgTransaction } from '../db/pg-transaction.js';
import { QUIET_BEGIN } from '../events/capture/announce.js';
import { readPgRow, readSqliteRow } from '../db/row-reads.js';
import { runsTransactionsOnConnection, transactionOnConnection } from '../db/sqlite-busy.js';
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

/**
 * Whether `operation` on `model` may run directly on this runtime's database: SQLite (a database
 * `openDatabase` made) or PostgreSQL, and the database captures the model.
 */
export function directWriteApplies(runtime: Runtime, model: ModelClass<Model>, operation: DirectWrite): boolean {
  return (
    (isPostgres(runtime.knex) || runsTransactionsOnConnection(runtime.knex)) &&
    writesDirectly(model, operation) &&
    runtime.databaseCapture.covers(model as unknown as Parameters<Runtime['databaseCapture']['covers']>[0])
  );
}

type Row = Record<string, unknown>;

/** Column names and the values to bind, in order. */
export interface Columns {
  columns: string[];
  values: unknown[];
}

/** A write's statements on the connection its transaction holds. */
export interface DirectStatements {
  readonly dialect: 'sqlite' | 'postgres';
  /** The row whose `column` equals `value`, or undefined (also for a value the column cannot hold). */
  read(table: string, column: string, value: unknown): Row | undefined | Promise<Row | undefined>;
  /** `update … where <key> = <id>`; the row as the UPDATE left it (undefined: no such row). */
  update(table: string, key: string, id: unknown, write: Columns): Row | undefined | Promise<Row | undefined>;
  /** `insert …`; the row as stored. */
  insert(table: string, write: Columns): Row | Promise<Row>;
  /** `delete … where <key> = <id>`. */
  delete(table: string, key: string, id: unknown): void | Promise<void>;
  /** SQLite: the connection (to read the log entry the write's trigger made); PostgreSQL: none (its entry is made at COMMIT). */
  readonly sqlite?: SqliteConnection;
}

/**
 * Runs `work` in a transaction straight on a connection of the runtime's database, with the
 * statements of a direct write on it (see the module comment). `work` must not run knex queries.
 */
export function directTransaction<T>(runtime: Runtime, work: (statements: DirectStatements) => Promise<T>): Promise<T> {
  if (isPostgres(runtime.knex)) {
    if (!runtime.announcesCommits) return pgTransaction(runtime.knex, (client) => work(pgStatements(client)));
    // The trigger is told not to notify; the runtime announces the commit to the other processes after it (announce.ts).
    return pgTransaction(runtime.knex, (client) => work(pgStatements(client)), QUIET_BEGIN).then((result) => {
      runtime.announceCommit();
      return result;
    });
  }
  // The primary-key reader's snapshot ends at knex's statements; this transaction runs none.
  return transactionOnConnection(runtime.knex, (connection) => work(sqliteStatements(connection as unknown as SqliteConnection))).finally(
    () => runtime.writeCommitted(),
  );
}

function updateText(table: string, key: string, columns: string[]): string {
  return text(
    'update-sqlite',
    table,
    key,
    columns,
    () => `update ${quoteTable(table)} set ${columns.map((column) => `${quote(column)} = ?`).join(', ')} where ${quote(key)} = ?`,
  ).text;
}

/** A value knex's better-sqlite3 client binds as is (after its date and boolean conversion), or undefined for one it does not. */
function sqliteBinding(value: unknown): { value: unknown } | undefined {
  if (value instanceof Date) return { value: value.valueOf() };
  if (typeof value === 'boolean') return { value: Number(value) };
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return { value };
  return undefined;
}

/** A value `pg` binds as knex's pg client would (dates, Buffers and scalars as they are), or undefined for one it does not. */
function pgBinding(value: unknown): { value: unknown } | undefined {
  if (value === null || typeof value !== 'object' || value instanceof Date || Buffer.isBuffer(value)) return { value };
  return undefined;
}

/**
 * The columns and bindings of the UPDATE or INSERT Objection would run for `instance` on that database,
 * or undefined when one value is something only the query builder knows how to write (a raw
 * expression, a reference, JSON).
 */
export function columnsOf(instance: Model, dialect: 'sqlite' | 'postgres' = 'sqlite'): Columns | undefined {
  const binding = dialect === 'postgres' ? pgBinding : sqliteBinding;
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

/** The text (and PostgreSQL name) of one write's statement shape; `kind` names the statement and its database's placeholders. */
function text(kind: string, table: string, key: string, columns: string[], make: () => string): { text: string; name?: string } {
  return statementShape(`${kind}\u0000${table}\u0000${key}\u0000${columns.join('\u0000')}`, make);
}

function insertSql(table: string, columns: string[], placeholder: (index: number) => string): string {
  return columns.length
    ? `insert into ${quoteTable(table)} (${columns.map(quote).join(', ')}) values (${columns.map((_, index) => placeholder(index)).join(', ')}) returning *`
    : `insert into ${quoteTable(table)} default values returning *`;
}

function sqliteStatements(connection: SqliteConnection): DirectStatements {
  return {
    dialect: 'sqlite',
    sqlite: connection,
    read: (table, column, value) => readSqliteRow(connection, table, column, value),
    update(table, key, id, write) {
      if (write.columns.length) runUpdateOn(connection, table, key, id, write);
      return readSqliteRow(connection, table, key, id);
    },
    insert: (table, write) =>
      connection
        .prepare(text('insert-sqlite', table, '', write.columns, () => insertSql(table, write.columns, () => '?')).text)
        .get(...write.values) as Row,
    delete(table, key, id) {
      connection
        .prepare(text('delete-sqlite', table, key, [], () => `delete from ${quoteTable(table)} where ${quote(key)} = ?`).text)
        .run(sqliteBinding(id)?.value ?? id);
    },
  };
}

/** The same UPDATE on a SQLite connection held already. */
export function runUpdateOn(connection: SqliteConnection, table: string, key: string, id: unknown, update: Columns): void {
  connection.prepare(updateText(table, key, update.columns)).run(...update.values, sqliteBinding(id)?.value ?? id);
}

function pgStatements(client: PgClient): DirectStatements {
  const run = async (statement: { text: string; name?: string }, values: unknown[]) =>
    (await client.query({ name: statement.name, text: statement.text, values })).rows;
  return {
    dialect: 'postgres',
    read: (table, column, value) => readPgRow(client, table, column, value),
    async update(table, key, id, write) {
      if (!write.columns.length) return readPgRow(client, table, key, id);
      const statement = text('update-pg', table, key, write.columns, () => {
        const sets = write.columns.map((column, index) => `${quote(column)} = $${index + 1}`).join(', ');
        return `update ${quoteTable(table)} set ${sets} where ${quote(key)} = $${write.columns.length + 1} returning *`;
      });
      return (await run(statement, [...write.values, id]))[0];
    },
    async insert(table, write) {
      const statement = text('insert-pg', table, '', write.columns, () => insertSql(table, write.columns, (index) => `$${index + 1}`));
      return (await run(statement, write.values))[0]!;
    },
    async delete(table, key, id) {
      await run(
        text('delete-pg', table, key, [], () => `delete from ${quoteTable(table)} where ${quote(key)} = $1`),
        [id],
      );
    },
  };
}
