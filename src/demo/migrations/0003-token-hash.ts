import crypto from 'node:crypto';
import type { Migration } from '../../db/migrations.js';

const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

/**
 * Tokens stored as their SHA-256 instead of in plain text (see demo/auth.ts). Existing tokens keep
 * working (a client's token hashes to the new key); they have no salt, so `createtoken` cannot show
 * one again and replaces it with a derived one the first time it is asked.
 */
export const tokenHash: Migration = {
  name: '0003-token-hash',
  async up(knex) {
    await knex.schema.alterTable('tokens', (t) => {
      t.string('salt', 64).nullable();
    });
    const rows = (await knex('tokens').select('key')) as Array<{ key: string }>;
    for (const { key } of rows)
      await knex('tokens')
        .where({ key })
        .update({ key: sha256(key) });
  },
  async down(knex) {
    // Plain-text tokens cannot come back from their hashes: every token is revoked.
    await knex('tokens').delete();
    await knex.schema.alterTable('tokens', (t) => {
      t.dropColumn('salt');
    });
  },
};
