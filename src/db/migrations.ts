/**
 * Runs migrations given as modules (not files on disk), so the same list works from src/ and dist/.
 */
import type { Knex } from 'knex';

/** One migration: a unique, sortable name and its up/down steps. */
export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down?(knex: Knex): Promise<void>;
}

class ListMigrationSource implements Knex.MigrationSource<Migration> {
  constructor(private readonly migrations: Migration[]) {}
  async getMigrations(): Promise<Migration[]> {
    return [...this.migrations].sort((a, b) => a.name.localeCompare(b.name));
  }
  getMigrationName(migration: Migration): string {
    return migration.name;
  }
  async getMigration(migration: Migration): Promise<Knex.Migration> {
    return { up: migration.up, down: migration.down ?? (async () => undefined) };
  }
}

/** Applies the pending migrations; returns the names it applied. */
export async function migrate(knex: Knex, migrations: Migration[]): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({
    migrationSource: new ListMigrationSource(migrations),
  })) as [number, string[]];
  return applied;
}
