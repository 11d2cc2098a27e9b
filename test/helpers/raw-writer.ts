/**
 * A second connection to a test app's database, outside the gateway (as another service, `psql` or the
 * `sqlite3` shell would write): a `pg` client on PostgreSQL, a better-sqlite3 connection to the same
 * file on SQLite. SQL is written with `?` placeholders for both.
 */
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import pg from 'pg';

export interface RawWriter {
  readonly kind: 'sqlite' | 'postgres';
  /** The database's address: the SQLite file or the PostgreSQL URL. */
  readonly address: string;
  /** Runs a statement; returns its rows (if any). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** Opens a raw connection to the database behind `knex`. */
export async function openRawWriter(knex: Knex): Promise<RawWriter> {
  const config = knex.client.config as Knex.Config;
  const connection = config.connection as { filename?: string; connectionString?: string };
  if (config.client === 'better-sqlite3') {
    const file = connection.filename!;
    const db = new Database(file);
    db.pragma('busy_timeout = 10000');
    return {
      kind: 'sqlite',
      address: file,
      async query<T>(sql: string, params: unknown[] = []) {
        const statement = db.prepare(sql);
        if (statement.reader) return statement.all(...params) as T[];
        statement.run(...params);
        return [];
      },
      async close() {
        db.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: connection.connectionString });
  await client.connect();
  return {
    kind: 'postgres',
    address: connection.connectionString!,
    async query<T>(sql: string, params: unknown[] = []) {
      let index = 0;
      const text = sql.replace(/\?/g, () => `$${++index}`);
      return (await client.query(text, params)).rows as T[];
    },
    async close() {
      await client.end();
    },
  };
}

/** A statement inserting `count` things named `<prefix> <n>` in one statement (both databases). */
export function insertThingsSql(count: number, prefix: string): string {
  return (
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < ${count}) ` +
    `insert into things (name, counter) select '${prefix} ' || i, 0 from n`
  );
}
