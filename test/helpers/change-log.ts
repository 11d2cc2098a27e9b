/**
 * The change log as a test writes it by hand: a truncate appended as the database's capture appends one.
 */
import { APPEND_LOCK_KEY, CHANGE_LOG_TABLE } from '../../src/events/change-log.js';
import type { Knex } from 'knex';
import type { TestApp } from './app.js';

/**
 * Appends a truncate of `model` to `app`'s change log as the database's capture does (one entry: pk JSON
 * null, action `truncate`, row `{}`, no before row), optionally after `alsoRun` in the same transaction;
 * then has the feed look at the log at once. Returns the entry's position.
 */
export async function logTruncate(app: TestApp, model: string, alsoRun?: (trx: TestApp['knex']) => Promise<unknown>): Promise<string> {
  const postgres = (app.knex.client.config as Knex.Config).client === 'pg';
  const seq = await app.knex.transaction(async (trx) => {
    if (postgres) await trx.raw('select pg_advisory_xact_lock(?)', [APPEND_LOCK_KEY]);
    if (alsoRun) await alsoRun(trx);
    const [row] = await trx(CHANGE_LOG_TABLE)
      .insert({ model, pk: 'null', action: 'truncate', before_row: null, row_data: '{}', committed_at: Date.now() })
      .returning('seq');
    return Number((row as { seq: unknown }).seq);
  });
  app.runtime.hub.catchUp();
  return app.runtime.hub.changeLog!.position(seq);
}
