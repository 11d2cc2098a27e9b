/**
 * SQLite capture triggers: AFTER INSERT / UPDATE / DELETE, FOR EACH ROW, each appending one change log
 * entry with the columns the ORM path writes. The row is built with `json_object` over the table's
 * columns as they are when the triggers are made (PRAGMA table_info): a migration that changes a
 * captured table's columns must make them again (`installCapture`). SQLite has one writer at a time, so
 * sequence (rowid) order is commit order; `committed_at` comes from `julianday('now')` (older sqlite3 shells
 * lack `unixepoch('subsec')`). A `DELETE` without WHERE runs the row triggers (SQLite skips its
 * truncate shortcut on a table with triggers), so it is one delete per row.
 */
import type { Knex } from 'knex';
import { quoteName as quote } from '../../db/connection.js';
import { CHANGE_LOG_TABLE } from '../change-log.js';

const ACTIONS = [
  { event: 'insert', action: 'create', before: null, after: 'NEW' },
  { event: 'update', action: 'update', before: 'OLD', after: 'NEW' },
  { event: 'delete', action: 'delete', before: 'OLD', after: 'OLD' },
] as const;

/** Arguments per `json_object` / `json_set` call: SQLite allows 127 function arguments by default. */
const PAIRS_PER_CALL = 60;

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

const triggerName = (table: string, event: string) => quote(`dcrf_capture_${table}_${event}`);

/** A column's value for JSON: BLOBs as hex text (JSON cannot hold them; `json_object` would fail the write). */
function value(row: 'NEW' | 'OLD', column: { name: string; type: string }): string {
  const reference = `${row}.${quote(column.name)}`;
  return /BLOB/i.test(column.type) ? `CASE typeof(${reference}) WHEN 'blob' THEN hex(${reference}) ELSE ${reference} END` : reference;
}

/** The JSON object of a row: one `json_object` call, wrapped in `json_set` calls past 60 columns. */
function rowJson(row: 'NEW' | 'OLD', columns: Array<{ name: string; type: string }>): string {
  const first = columns.slice(0, PAIRS_PER_CALL);
  let json = `json_object(${first.map((column) => `${literal(column.name)}, ${value(row, column)}`).join(', ')})`;
  for (let start = PAIRS_PER_CALL; start < columns.length; start += PAIRS_PER_CALL) {
    const pairs = columns.slice(start, start + PAIRS_PER_CALL);
    json = `json_set(${json}, ${pairs.map((column) => `${literal(`$."${column.name}"`)}, ${value(row, column)}`).join(', ')})`;
  }
  return json;
}

/** Milliseconds since the epoch from `julianday('now')`. */
const committedAt = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

/** Installs (or re-installs) the capture triggers of one table; returns its columns. */
export async function installSqliteCapture(knex: Knex, table: string, model: string, pkColumn: string): Promise<string[]> {
  await removeSqliteCapture(knex, table);
  const columns = ((await knex.raw(`pragma table_info(${quote(table)})`)) as Array<{ name: string; type: string }>).map((column) => ({
    name: column.name,
    type: String(column.type ?? ''),
  }));
  if (columns.length === 0) throw new Error(`capture: no table "${table}"`);
  const pk = columns.find((column) => column.name === pkColumn);
  if (!pk) throw new Error(`capture: table "${table}" has no column "${pkColumn}" (the model's idColumn)`);
  for (const { event, action, before, after } of ACTIONS) {
    const values = [
      literal(model),
      `json_quote(${value(after, pk)})`,
      literal(action),
      before ? rowJson(before, columns) : 'NULL',
      rowJson(after, columns),
      committedAt,
    ];
    await knex.raw(
      `create trigger ${triggerName(table, event)} after ${event} on ${quote(table)} for each row begin ` +
        `insert into ${CHANGE_LOG_TABLE} (model, pk, action, before_row, row_data, committed_at) values (${values.join(', ')}); end`,
    );
  }
  return columns.map((column) => column.name);
}

/** Removes the capture triggers of one table (none: nothing happens). */
export async function removeSqliteCapture(knex: Knex, table: string): Promise<void> {
  for (const { event } of ACTIONS) await knex.raw(`drop trigger if exists ${triggerName(table, event)}`);
}

/** Whether the table still carries its capture triggers. */
export async function hasSqliteCapture(knex: Knex, table: string): Promise<boolean> {
  const rows = (await knex.raw("select name from sqlite_master where type = 'trigger' and tbl_name = ? and name like 'dcrf_capture_%'", [
    table,
  ])) as unknown[];
  return rows.length === ACTIONS.length;
}

/** The table's columns now (to tell whether the triggers were made for the same ones). */
export async function sqliteColumns(knex: Knex, table: string): Promise<string[]> {
  return ((await knex.raw(`pragma table_info(${quote(table)})`)) as Array<{ name: string }>).map((column) => column.name);
}
