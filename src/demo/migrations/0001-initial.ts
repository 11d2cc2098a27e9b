import type { Migration } from '../../db/migrations.js';

export const initial: Migration = {
  name: '0001-initial',
  async up(knex) {
    await knex.schema.createTable('things', (t) => {
      t.increments('id').primary();
      t.string('name', 64).notNullable();
      t.integer('counter').notNullable().defaultTo(0);
    });
    await knex.schema.createTable('tests', (t) => {
      t.increments('id').primary();
      t.string('name', 100).notNullable();
    });
    await knex.schema.createTable('users', (t) => {
      t.increments('id').primary();
      t.string('username', 150).notNullable().unique();
      t.string('email', 254).notNullable().defaultTo('');
      t.boolean('is_active').notNullable().defaultTo(true);
    });
    await knex.schema.createTable('tokens', (t) => {
      t.string('key', 64).primary();
      t.integer('user_id').notNullable().unique().references('id').inTable('users').onDelete('CASCADE');
      t.timestamp('created').notNullable().defaultTo(knex.fn.now());
    });
    await knex.schema.createTable('schools', (t) => {
      t.increments('id').primary();
      t.string('name', 100).notNullable();
    });
    await knex.schema.createTable('classrooms', (t) => {
      t.increments('id').primary();
      t.string('name', 100).notNullable();
      t.integer('school').notNullable().references('id').inTable('schools').onDelete('CASCADE');
      t.index(['school']);
    });
  },
  async down(knex) {
    for (const table of ['classrooms', 'schools', 'tokens', 'users', 'tests', 'things']) {
      await knex.schema.dropTableIfExists(table);
    }
  },
};
