/**
 * Primary-key reads without the query builder: a read-only better-sqlite3 connection of its own
 * (WAL gives it a committed snapshot, never another request's open transaction) with one cached
 * prepared statement per table and column. Other databases return undefined and callers take the
 * ordinary Objection path.
 *
 * Reads share one read transaction per event-loop turn: a lone statement pays for taking and
 * dropping SQLite's file and WAL locks (several system calls, most of a lookup's cost), and the
 * sockets served in one turn can all read from one snapshot. The snapshot ends at the end of the
 * turn (setImmediate) and at once whenever this process's knex runs anything but a SELECT, so a
 * read that follows a write in this process always sees it. A write committed by another process
 * is seen from the next turn on.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { quoteName, quoteTable } from './connection.js';

type Row = Record<string, unknown>;

const SELECT = /^\s*select\b/i;

export class FastReader {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private inSnapshot = false;
  private readonly endSnapshot = () => this.end();
  private readonly onQuery = (query: { sql?: unknown }) => {
    if (this.inSnapshot && !(typeof query.sql === 'string' && SELECT.test(query.sql))) this.end();
  };

  private constructor(
    private readonly db: Database.Database,
    private readonly knex: Knex,
  ) {
    this.begin = db.prepare('BEGIN');
    this.commit = db.prepare('COMMIT');
    // knex emits `query` synchronously just before better-sqlite3 runs the statement (writes,
    // and the COMMIT of a transaction, inside transactions too).
    knex.on('query', this.onQuery);
  }

  /** The SQLite file a reader for `knex` reads; undefined for any other database (memory, PostgreSQL). */
  static fileOf(knex: Knex): string | undefined {
    const config = knex.client.config as Knex.Config;
    if (config.client !== 'better-sqlite3') return undefined;
    const filename = (config.connection as { filename?: string } | undefined)?.filename;
    return !filename || filename === ':memory:' ? undefined : filename;
  }

  /** A reader for a SQLite file database; undefined for anything else, or while the file does not exist yet. */
  static forKnex(knex: Knex): FastReader | undefined {
    const filename = FastReader.fileOf(knex);
    if (!filename || !fs.existsSync(filename)) return undefined;
    const db = new Database(filename, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return new FastReader(db, knex);
  }

  /** The row whose `column` equals `value`, or undefined. */
  get(table: string, column: string, value: unknown): Row | undefined {
    if (typeof value !== 'number' && typeof value !== 'string') return undefined;
    const statement = this.statement(`${table}\u0000=${column}`, () => `SELECT * FROM ${quoteTable(table)} WHERE ${quoteName(column)} = ?`);
    this.snapshot();
    return statement.get(value) as Row | undefined;
  }

  /** Every row of a table ordered by `orderColumn` (a list with no narrowing queryset). */
  all(table: string, orderColumn: string): Row[] {
    const statement = this.statement(
      `${table}\u0000<${orderColumn}`,
      () => `SELECT * FROM ${quoteTable(table)} ORDER BY ${quoteName(orderColumn)}`,
    );
    this.snapshot();
    return statement.all() as Row[];
  }

  private statement(key: string, sql: () => string): Database.Statement {
    let statement = this.statements.get(key);
    if (!statement) {
      statement = this.db.prepare(sql());
      this.statements.set(key, statement);
    }
    return statement;
  }

  /** Opens this turn's read transaction if none is open. */
  private snapshot(): void {
    if (this.inSnapshot) return;
    this.begin.run();
    this.inSnapshot = true;
    setImmediate(this.endSnapshot);
  }

  private end(): void {
    if (!this.inSnapshot) return;
    this.inSnapshot = false;
    if (this.db.inTransaction) this.commit.run();
  }

  /**
   * A write of this process committed without knex (a direct write: knex emits no `query` event for
   * it): the reads after it take a new snapshot, so they see it.
   */
  writeCommitted(): void {
    this.end();
  }

  close(): void {
    this.knex.off('query', this.onQuery);
    this.end();
    this.db.close();
  }
}
