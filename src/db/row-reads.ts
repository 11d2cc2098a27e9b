/**
 * One row by one column, read on a transaction's own connection with a prepared statement, without
 * the query builder: the lookup and the read-back of every write (`getObject` inside the write's
 * transaction, the row the reply is made from). Building that query through Objection and knex costs
 * several times what the database spends running it.
 *
 * SQLite: the connection's `prepare` answers from the statement cache (db/statement-cache.ts), so the
 * statement is compiled once per table and column. PostgreSQL: a named prepared statement, parsed
 * once per connection by the server (`pg` remembers which names each connection prepared). Both run
 * on the very connection the transaction holds (knex hands it out to its own queries the same way),
 * with the types that connection was configured with, so a row reads exactly as knex reads it.
 */
import type { Knex } from 'knex';
import { isPostgres, onConnection, type PgClient, quoteName, quoteTable, type SqliteConnection, statementShape } from './connection.js';

type Row = Record<string, unknown>;

function statementFor(table: string, column: string, placeholder: string): { text: string; name?: string } {
  return statementShape(
    `row\u0000${table}\u0000${column}\u0000${placeholder}`,
    () => `select * from ${quoteTable(table)} where ${quoteName(column)} = ${placeholder} limit 1`,
  );
}

/** Whether rows of this knex's database can be read here (SQLite through better-sqlite3, PostgreSQL through pg). */
export function readsRowsDirectly(knex: Knex): boolean {
  return (knex.client as { config?: { client?: unknown } }).config?.client === 'better-sqlite3' || isPostgres(knex);
}

/**
 * The row of `table` whose `column` equals `value`, or undefined: read on the connection of `knex`
 * when it is a transaction, else on one the pool lends for the statement. Throws what the driver
 * throws (e.g. PostgreSQL's "out of range" for a value the column cannot hold).
 */
export function readRow(knex: Knex | Knex.Transaction, table: string, column: string, value: unknown): Promise<Row | undefined> {
  const postgres = isPostgres(knex);
  return onConnection(knex, (connection: PgClient | SqliteConnection) =>
    postgres
      ? readPgRow(connection as PgClient, table, column, value)
      : readSqliteRow(connection as SqliteConnection, table, column, value),
  );
}

/** The row of `table` whose `column` equals `value`, or undefined, read on a SQLite connection held already (synchronous). */
export function readSqliteRow(connection: SqliteConnection, table: string, column: string, value: unknown): Row | undefined {
  return connection.prepare(statementFor(table, column, '?').text).get(value) as Row | undefined;
}

/** The row of `table` whose `column` equals `value`, or undefined, read on a PostgreSQL client held already (a named statement). */
export async function readPgRow(client: PgClient, table: string, column: string, value: unknown): Promise<Row | undefined> {
  const { text, name } = statementFor(table, column, '$1');
  return (await client.query({ name, text, values: [value] })).rows[0];
}
