/**
 * Prepared statements kept by SQL text on a better-sqlite3 connection. knex's better-sqlite3 client
 * prepares every query anew, which here costs about as much as running it (a `patch` prepares five
 * or six statements); Objection and knex produce the same SQL text for the same query shape, so a
 * bounded cache answers nearly every prepare after warm-up.
 *
 * Safe because knex only runs statements to completion (`all`, `run`), never iterates one, so a cached
 * statement is never busy when it is handed out again; SQLite recompiles a statement after a schema
 * change on its own. The one state a statement keeps is `safeIntegers`, which knex sets only for a
 * query whose options ask for it; nothing here does.
 */
import type Database from 'better-sqlite3';

/** Makes `db.prepare` return a cached statement for SQL it has seen (least recently used dropped past `max`). */
export function cachePreparedStatements(db: Database.Database, max = 500): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = cache.get(sql);
    if (statement) {
      // Map order is insertion order: moving a hit to the end keeps the oldest-used first.
      cache.delete(sql);
      cache.set(sql, statement);
      return statement;
    }
    statement = prepare(sql);
    if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    cache.set(sql, statement);
    return statement;
  }) as Database.Database['prepare'];
}
