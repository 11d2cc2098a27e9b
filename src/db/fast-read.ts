/**
 * Primary-key reads without the query builder: a read-only better-sqlite3 connection of its own
 * (WAL gives it a committed snapshot per statement, never another request's open transaction) with
 * one cached prepared statement per table and column. Other databases return undefined and callers
 * take the ordinary Objection path.
 */
import Database from 'better-sqlite3';
import type { Knex } from 'knex';

type Row = Record<string, unknown>;

export class FastReader {
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(private readonly db: Database.Database) {}

  /** A reader for a SQLite file database; undefined for anything else (memory, PostgreSQL). */
  static forKnex(knex: Knex): FastReader | undefined {
    const config = knex.client.config as Knex.Config;
    if (config.client !== 'better-sqlite3') return undefined;
    const filename = (config.connection as { filename?: string } | undefined)?.filename;
    if (!filename || filename === ':memory:') return undefined;
    const db = new Database(filename, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return new FastReader(db);
  }

  /** The row whose `column` equals `value`, or undefined. */
  get(table: string, column: string, value: unknown): Row | undefined {
    if (typeof value !== 'number' && typeof value !== 'string') return undefined;
    const key = `${table}\u0000${column}`;
    let statement = this.statements.get(key);
    if (!statement) {
      statement = this.db.prepare(`SELECT * FROM "${table.replace(/"/g, '""')}" WHERE "${column.replace(/"/g, '""')}" = ?`);
      this.statements.set(key, statement);
    }
    return statement.get(value) as Row | undefined;
  }

  close(): void {
    this.db.close();
  }
}
