/**
 * The capture registry: a small table saying which models the database itself writes into the change
 * log (their tables carry capture triggers). The capture migration fills it as it installs triggers,
 * so a runtime learns from the database (the source of truth) which models need no ORM hooks.
 */
import type { Knex } from 'knex';

/** The registry table. */
export const CAPTURE_TABLE = 'dcrf_capture';

/** How a model's changes are captured: by its ORM hooks (`orm`) or by database triggers (`database`). */
export type CaptureMode = 'orm' | 'database';

/** What the capture migration needs to know of a live model class (LiveModel's statics). */
export interface CapturableModel {
  /** The class name (for messages). */
  readonly name: string;
  /** The model name change records carry. */
  readonly changeName: string;
  readonly tableName: string;
  readonly idColumn: string | string[];
  readonly capture: CaptureMode;
  /** Related rows embedded in events (`selectRelated`): database capture refuses such models. */
  readonly selectRelated?: readonly string[];
}

/** One captured table, as the registry records it. */
export interface CapturedTable {
  model: string;
  table: string;
  pkColumn: string;
  /** The columns the triggers write (SQLite: fixed when they were made; a later column change needs them made again). */
  columns: string[];
}

/** Creates the registry table when it does not exist yet. */
export async function ensureRegistry(knex: Knex): Promise<void> {
  if (await knex.schema.hasTable(CAPTURE_TABLE)) return;
  await knex.schema.createTable(CAPTURE_TABLE, (table) => {
    table.string('model', 200).primary();
    table.string('table_name', 200).notNullable();
    table.string('pk_column', 200).notNullable();
    table.text('columns').notNullable();
  });
}

/** The tables the database captures, by model name (empty when the registry does not exist). */
export async function readRegistry(knex: Knex): Promise<Map<string, CapturedTable>> {
  const tables = new Map<string, CapturedTable>();
  if (!(await knex.schema.hasTable(CAPTURE_TABLE))) return tables;
  const rows = (await knex(CAPTURE_TABLE).select('model', 'table_name', 'pk_column', 'columns')) as Array<Record<string, string>>;
  for (const row of rows) {
    tables.set(row.model!, { model: row.model!, table: row.table_name!, pkColumn: row.pk_column!, columns: JSON.parse(row.columns!) });
  }
  return tables;
}

/** Records (or replaces) one captured table. */
export async function register(knex: Knex, captured: CapturedTable): Promise<void> {
  await knex(CAPTURE_TABLE).where('model', captured.model).delete();
  await knex(CAPTURE_TABLE).insert({
    model: captured.model,
    table_name: captured.table,
    pk_column: captured.pkColumn,
    columns: JSON.stringify(captured.columns),
  });
}

/** Forgets one model's captured table. */
export async function unregister(knex: Knex, model: string): Promise<void> {
  await knex(CAPTURE_TABLE).where('model', model).delete();
}
