import type { Knex } from 'knex';
import { isPostgres } from '../../db/connection.js';
import type { Migration } from '../../db/migrations.js';

/**
 * Products: the DRF field set. A decimal never passes through a float: PostgreSQL keeps `numeric(8,2)`
 * (which `pg` returns as text); SQLite keeps TEXT, since a column of numeric affinity would turn
 * "12.50" into the float 12.5. Tags are JSON (jsonb / TEXT), `updated_at` a `timestamptz` / the
 * fixed-width UTC text of the DateTimeField.
 */
export const products: Migration = {
  name: '0004-products',
  async up(knex) {
    const postgres = isPostgres(knex);
    await knex.schema.createTable('products', (t) => {
      t.increments('id').primary();
      t.uuid('uuid').notNullable().unique();
      t.string('name', 80).notNullable();
      t.string('slug', 50).notNullable().unique();
      if (postgres) t.decimal('price', 8, 2).notNullable();
      else t.text('price').notNullable();
      t.double('rating').nullable();
      t.string('kind', 5).notNullable().defaultTo('book');
      if (postgres) t.jsonb('tags').notNullable().defaultTo('[]');
      else t.text('tags').notNullable().defaultTo('[]');
      t.date('released').nullable();
      t.string('homepage', 200).notNullable().defaultTo('');
      t.integer('school_id').nullable().references('id').inTable('schools').onDelete('SET NULL');
      if (postgres) t.timestamp('updated_at', { useTz: true, precision: 6 }).notNullable();
      else t.text('updated_at').notNullable();
      t.index(['school_id']);
    });
  },
  async down(knex) {
    await knex.schema.dropTableIfExists('products');
  },
};
