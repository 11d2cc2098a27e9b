/** The Todo app's tables. `createApp` adds the change log's migration (positions and resume) itself. */
import type { Migration } from 'dcrf-gateway';

export const migrations: Migration[] = [
  {
    name: '0001-users-and-todos',
    async up(knex) {
      await knex.schema.createTable('users', (table) => {
        table.increments('id');
        table.string('username', 150).notNullable().unique();
        table.string('token_hash', 64).notNullable().unique();
      });
      await knex.schema.createTable('todos', (table) => {
        table.increments('id');
        table.string('title', 200).notNullable();
        table.boolean('done').notNullable().defaultTo(false);
        table.integer('owner').notNullable().references('users.id').onDelete('CASCADE').index();
      });
    },
    async down(knex) {
      await knex.schema.dropTable('todos');
      await knex.schema.dropTable('users');
    },
  },
];
