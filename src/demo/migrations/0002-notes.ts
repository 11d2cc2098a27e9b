import type { Migration } from '../../db/migrations.js';

/** Notes: each belongs to one user (its owner), who alone sees it. */
export const notes: Migration = {
  name: '0002-notes',
  async up(knex) {
    await knex.schema.createTable('notes', (t) => {
      t.increments('id').primary();
      t.integer('owner').notNullable().references('id').inTable('users').onDelete('CASCADE');
      t.string('text', 500).notNullable();
      // Every read of the notes stream filters on its owner.
      t.index(['owner']);
    });
  },
  async down(knex) {
    await knex.schema.dropTableIfExists('notes');
  },
};
