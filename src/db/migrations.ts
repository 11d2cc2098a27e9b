/**
 * Runs migrations given as modules (not files on disk), so the same list works from src/ and dist/.
 */
import type { Knex } from 'knex';
import { isPostgres } from './connection.js';

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
  const latest = async () => {
    const [, applied] = (await knex.migrate.latest({
      migrationSource: new ListMigrationSource(migrations),
    })) as [number, string[]];
    return applied;
  };
  return isPostgres(knex) ? withAdvisoryLock(knex, MIGRATION_LOCK_KEY, latest) : latest();
}

/** Any constant shared by every process of the app: names the lock that serializes migrations. */
const MIGRATION_LOCK_KEY = 0x64637266;

/**
 * Runs `work` holding a PostgreSQL session advisory lock. Several gateway processes starting at once
 * on one database migrate one after the other (the later ones find nothing pending) instead of
 * failing on knex's "migration table is already locked".
 */
async function withAdvisoryLock<T>(knex: Knex, key: number, work: () => Promise<T>): Promise<T> {
  const connection = await knex.client.acquireConnection();
  try {
    await knex.raw('select pg_advisory_lock(?)', [key]).connection(connection);
    try {
      return await work();
    } finally {
      await knex.raw('select pg_advisory_unlock(?)', [key]).connection(connection);
    }
  } finally {
    await knex.client.releaseConnection(connection);
  }
}
