/**
 * Which models a runtime's database captures itself (triggers write their changes into the change
 * log), read once from the capture registry when the runtime is created. For those models the ORM
 * hooks record nothing: the trigger's entry is the change's one event. A model that asks for database
 * capture without triggers in the database falls back to its ORM hooks (said once): no event is lost,
 * none is doubled.
 */
import type { Knex } from 'knex';
import { logger } from '../../logger.js';
import { isPostgres } from '../../db/connection.js';
import { hasPostgresCapture } from './postgres-triggers.js';
import { type CapturableModel, type CapturedTable, readRegistry } from './registry.js';
import { hasSqliteCapture, sqliteColumns } from './sqlite-triggers.js';

/** The parts of a model class `covers` reads. */
type ModelLike = Pick<CapturableModel, 'name' | 'changeName' | 'capture'>;

export class DatabaseCapture {
  /** A database that captures nothing. */
  static readonly none = new DatabaseCapture(new Map());
  /** A runtime whose events do not come from the change log (no database, or the log turned off): ORM hooks, said nothing. */
  static readonly unlogged = new DatabaseCapture(new Map(), false);
  /** Models already warned about (once each). */
  private readonly warned = new Set<string>();

  private constructor(
    /** The captured tables whose triggers are in place, by model name. */
    readonly tables: ReadonlyMap<string, CapturedTable>,
    /** Whether a model asking for database capture without triggers is reported. */
    private readonly reports = true,
  ) {}

  /**
   * The database's captured tables, checked: a table whose triggers are gone is not counted (its model's
   * ORM hooks take over), a SQLite table whose columns changed since its triggers were made is reported.
   */
  static async load(knex: Knex): Promise<DatabaseCapture> {
    const tables = await readRegistry(knex);
    if (tables.size === 0) return DatabaseCapture.none;
    const postgres = isPostgres(knex);
    for (const [model, table] of tables) {
      const present = postgres ? await hasPostgresCapture(knex, table.table) : await hasSqliteCapture(knex, table.table);
      if (!present) {
        logger.warn('capture: the registry names a table without its triggers; its ORM hooks capture it', { model, table: table.table });
        tables.delete(model);
        continue;
      }
      if (!postgres) {
        const now = await sqliteColumns(knex, table.table);
        if (now.join('\u0000') !== table.columns.join('\u0000')) {
          logger.warn('capture: the columns of a captured table changed since its triggers were made: run installCapture again', {
            model,
            table: table.table,
          });
        }
      }
    }
    return new DatabaseCapture(tables);
  }

  /** Whether the database captures any model (a watcher for other connections' writes is then needed). */
  get active(): boolean {
    return this.tables.size > 0;
  }

  /**
   * Whether the database writes this model's changes into the log (its ORM hooks must then record
   * nothing). The database decides: a model whose triggers exist is captured by them whatever its
   * `capture` says (else each write would be two events); one that asks for `database` capture
   * without triggers keeps its ORM hooks. Either mismatch is said once.
   */
  covers(model: ModelLike): boolean {
    const captured = this.tables.has(model.changeName);
    if (this.reports && captured !== (model.capture === 'database') && !this.warned.has(model.changeName)) {
      this.warned.add(model.changeName);
      if (captured) {
        logger.warn("capture: the database captures this model although it says capture 'orm': run its capture migration step again", {
          model: model.name,
        });
      } else {
        logger.warn(
          "capture: this model says capture 'database' but the database has no triggers for it: its ORM hooks capture it (run its capture migration)",
          { model: model.name },
        );
      }
    }
    return captured;
  }
}
