/**
 * Tells the other processes of a PostgreSQL database that this process committed log entries, after
 * the commit, from a connection that writes nothing.
 *
 * The capture trigger's `pg_notify` would do it inside the writing transaction, but PostgreSQL
 * serializes the commits of transactions that NOTIFY (a database-wide lock held until the commit's WAL
 * flush ends): measured with ten connections, 3.3–3.9k commits/s with it against 6.2–7.2k without. So
 * the direct writes ask their trigger not to (`SET LOCAL dcrf.notify = off`, sent with their BEGIN) and
 * announce the commit here instead: one `pg_notify` at a time, the commits that end while it is on its
 * way announced by one more after it. A notification that fails is logged; the other processes' feeds
 * read the log at their next poll (`FEED_POLL_MS`) as they would after a lost one.
 */
import type { Knex } from 'knex';
import { onConnection, type PgClient } from '../../db/connection.js';
import { logger } from '../../logger.js';
import { CAPTURE_CHANNEL } from './postgres-triggers.js';

/** What a transaction sends with its BEGIN so that its capture trigger does not notify (see above). */
export const QUIET_BEGIN = 'BEGIN; SET LOCAL dcrf.notify = off';

export class CommitAnnouncer {
  #sending = false;
  #again = false;
  #closed = false;

  constructor(private readonly knex: Knex) {}

  /** Announces the commits that ended since the last announcement (coalesced: one notification in flight). */
  announce(): void {
    if (this.#closed) return;
    if (this.#sending) {
      this.#again = true;
      return;
    }
    this.#sending = true;
    onConnection(this.knex, (client: PgClient) => client.query({ text: 'select pg_notify($1, $2)', values: [CAPTURE_CHANNEL, ''] }))
      .catch((error: unknown) => {
        logger.warn('capture: announcing a commit to the other processes failed (their feeds read it at their next poll)', {
          error: String((error as Error)?.message ?? error),
        });
      })
      .finally(() => {
        this.#sending = false;
        if (this.#again) {
          this.#again = false;
          this.announce();
        }
      });
  }

  /** Stops announcing (the runtime closes; its pool is going away). */
  close(): void {
    this.#closed = true;
  }
}
