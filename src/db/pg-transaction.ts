/**
 * A PostgreSQL transaction on one of the knex pool's connections, without a knex transaction object
 * (a new knex instance with its own client, events and promises per transaction): BEGIN, the work,
 * COMMIT, or ROLLBACK when the work or the COMMIT throws. The work gets the `pg` client itself and must
 * not run knex queries on the app's knex meanwhile (they would take another connection, outside this
 * transaction). `begin` is the text that starts it (`BEGIN`, or BEGIN with a SET LOCAL after it).
 */
import type { Knex } from 'knex';
import type { PgClient } from './connection.js';

export async function pgTransaction<T>(knex: Knex, work: (client: PgClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = (await knex.client.acquireConnection()) as PgClient;
  try {
    await client.query(begin);
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // After a failed COMMIT the server has ended the transaction already: ROLLBACK is then a no-op.
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await knex.client.releaseConnection(client);
  }
}
