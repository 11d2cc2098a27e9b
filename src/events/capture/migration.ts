/**
 * The capture migration: installs database triggers for the listed models whose `capture` is
 * `database` (and removes ours from those now `orm`), recording what it installed in the capture
 * registry. Its `down` removes them.
 *
 *   export const capture = captureMigration('0005-capture', [Thing, Classroom]);
 *   await migrate(knex, [...mine, changeLogMigration, capture]);
 *
 * A later migration that changes a captured table's columns calls `installCapture(knex, [Model])` at
 * its end (SQLite triggers name the columns they write; PostgreSQL's text-typed columns are fixed too).
 */
import type { Knex } from 'knex';
import { isPostgres } from '../../db/connection.js';
import type { Migration } from '../../db/migrations.js';
import { dropPostgresFunctions, installPostgresCapture, removePostgresCapture } from './postgres-triggers.js';
import { type CapturableModel, ensureRegistry, readRegistry, register, unregister } from './registry.js';
import { installSqliteCapture, removeSqliteCapture } from './sqlite-triggers.js';

/** The single primary-key column of a model; database capture refuses what it cannot capture, with the reason. */
function captureColumn(model: CapturableModel): string {
  // Triggers see one table's row: related rows (selectRelated) are read by the ORM hooks only.
  if (model.selectRelated?.length) {
    throw new Error(
      `${model.name}: database capture cannot embed related rows (selectRelated) in its events: keep \`static capture = 'orm'\` for it`,
    );
  }
  if (!Array.isArray(model.idColumn)) return model.idColumn;
  if (model.idColumn.length !== 1) throw new Error(`${model.name}: database capture needs a single-column primary key`);
  return model.idColumn[0]!;
}

/**
 * Makes the database capture every listed model whose `capture` is `database` (triggers made anew,
 * so this also refreshes them after a column change) and stop capturing those now `orm`. Run it inside
 * a migration (the change log's migration must be in the same list).
 */
export async function installCapture(knex: Knex, models: readonly CapturableModel[]): Promise<void> {
  await ensureRegistry(knex);
  const postgres = isPostgres(knex);
  for (const model of models) {
    if (model.capture !== 'database') {
      await uncapture(knex, model);
      continue;
    }
    const pkColumn = captureColumn(model);
    const columns = postgres
      ? await installPostgresCapture(knex, model.tableName, model.changeName, pkColumn)
      : await installSqliteCapture(knex, model.tableName, model.changeName, pkColumn);
    await register(knex, { model: model.changeName, table: model.tableName, pkColumn, columns });
  }
}

/** Removes our capture triggers from the listed models' tables (whatever their `capture` says). */
export async function removeCapture(knex: Knex, models: readonly CapturableModel[]): Promise<void> {
  await ensureRegistry(knex);
  for (const model of models) await uncapture(knex, model);
  if (isPostgres(knex) && (await readRegistry(knex)).size === 0) await dropPostgresFunctions(knex);
}

async function uncapture(knex: Knex, model: CapturableModel): Promise<void> {
  const known = (await readRegistry(knex)).get(model.changeName);
  const table = known?.table ?? model.tableName;
  if (isPostgres(knex)) await removePostgresCapture(knex, table);
  else await removeSqliteCapture(knex, table);
  await unregister(knex, model.changeName);
}

/**
 * A migration that installs the database capture of `models` (those whose `capture` is `database`;
 * ours are removed from the others) and removes it on `down`. Its name sorts it among the app's own.
 */
export function captureMigration(name: string, models: readonly CapturableModel[]): Migration {
  return {
    name,
    up: (knex) => installCapture(knex, models),
    down: (knex) => removeCapture(knex, models),
  };
}
