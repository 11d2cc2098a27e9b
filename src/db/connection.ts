/**
 * A statement straight on the driver's connection, without knex's query building: the hot paths
 * (a write's lookup and read-back, the change log's append and reads, the capture's fold) run prepared
 * statements there. The connection is the one knex's own queries would run on: a transaction's own
 * (its client hands out the one connection it holds and takes none back), else one the pool lends for
 * the call and takes back after it, so the statement waits behind a transaction in flight as a knex
 * query would.
 */
import type { Knex } from 'knex';

/** Whether a knex instance or transaction talks to PostgreSQL (knex's `pg` client, under any of its names). */
export function isPostgres(knex: Knex | Knex.Transaction): boolean {
  const client = (knex.client.config as Knex.Config).client;
  return client === 'pg' || client === 'postgres' || client === 'postgresql';
}

/**
 * Throws when `knex` renames identifiers itself (`wrapIdentifier` / `postProcessResponse` in its config,
 * e.g. objection's `knexSnakeCaseMappers()`): the change log, the capture triggers and the statements
 * that bypass the query builder read and write columns by their database names, and would disagree with
 * the renamed rows (a log read with renamed columns would even lose its pruning mark).
 */
export function refuseIdentifierMappers(knex: Knex, where: string): void {
  const config = knex.client.config as Knex.Config;
  if (config.wrapIdentifier || config.postProcessResponse)
    throw new TypeError(
      `${where}: this knex renames identifiers (\`wrapIdentifier\` / \`postProcessResponse\` in its config, e.g. ` +
        "objection's knexSnakeCaseMappers()), which the change log and the direct reads and writes cannot follow. " +
        'Map names on the models instead: `static columnNameMappers = snakeCaseMappers()`.',
    );
}

/** The knex parts used here: its client, and a transaction's state. */
interface KnexLike {
  client: { acquireConnection(): Promise<unknown>; releaseConnection(connection: unknown): Promise<unknown> };
  isTransaction?: boolean;
  isCompleted?: () => boolean;
}

/** A quoted SQL identifier (double quotes, as SQLite and PostgreSQL both read them). */
export function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A quoted table name: `schema.table` quoted part by part, as knex and the ORM read a model's `tableName`. */
export function quoteTable(name: string): string {
  return name.split('.').map(quoteName).join('.');
}

/** Statement texts by shape, each made once, with its PostgreSQL name (see `statementShape`). */
const shapes = new Map<string, { text: string; name: string }>();

/**
 * How many statement shapes are kept (and named). Clients choose some shapes: a patch's UPDATE names the
 * fields it sent, so a serializer with n writable fields allows 2^n of them, and each named one stays
 * prepared on every PostgreSQL connection that ran it.
 */
export const MAX_STATEMENT_SHAPES = 1000;

/**
 * The SQL text of one statement shape (`key` names the shape, the placeholders' style included),
 * made once, and a short stable name for it as a PostgreSQL named statement (names are identifiers of
 * at most 63 bytes; `pg` prepares each once per connection). Past MAX_STATEMENT_SHAPES shapes, a new
 * one is made each time and has no name (PostgreSQL parses it per run, and keeps nothing).
 */
export function statementShape(key: string, make: () => string): { text: string; name?: string } {
  let statement = shapes.get(key);
  if (!statement) {
    if (shapes.size >= MAX_STATEMENT_SHAPES) return { text: make() };
    statement = { text: make(), name: `dcrf_stmt_${shapes.size.toString(36)}` };
    shapes.set(key, statement);
  }
  return statement;
}

/** The part of a `pg` client the hot paths use: a query, named statements included. */
export interface PgClient {
  query(config: string | { name?: string; text: string; values?: unknown[] }): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** The part of a better-sqlite3 connection the hot paths use (its `prepare` answers from the statement cache). */
export interface SqliteConnection {
  prepare(sql: string): { get(...values: unknown[]): unknown; all(...values: unknown[]): unknown[]; run(...values: unknown[]): unknown };
}

/** Runs `use` on the connection queries of `knex` (a knex instance or a transaction) run on. */
export async function onConnection<C, T>(knex: Knex | Knex.Transaction, use: (connection: C) => T | Promise<T>): Promise<T> {
  const db = knex as unknown as KnexLike;
  // knex's own queries refuse to run on a finished transaction: so does this.
  if (db.isCompleted?.()) throw new Error('Transaction query already complete');
  const connection = (await db.client.acquireConnection()) as C;
  try {
    return await use(connection);
  } finally {
    if (!db.isTransaction) await db.client.releaseConnection(connection);
  }
}
