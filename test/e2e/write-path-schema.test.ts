/**
 * A model whose `tableName` names a PostgreSQL schema (`wp_schema.wp_schemed`), captured by the
 * database: the writes that bypass knex (create, patch, delete straight on a connection) and the row
 * reads name the table as knex does, schema and table quoted apart. PostgreSQL pass only: SQLite's
 * capture triggers cannot name a table of another schema.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  captureMigration,
  changeLogMigration,
  createApp,
  CreateModelMixin,
  DeleteModelMixin,
  GenericAsyncAPIConsumer,
  LiveModel,
  loadConfig,
  modelSerializer,
  ObserverModelInstanceMixin,
  PatchModelMixin,
  RetrieveModelMixin,
} from '../../src/index.js';
import type { App } from '../../src/app.js';
import { TestSocket } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase, uniqueRedisPrefix } from '../helpers/postgres.js';

class Schemed extends LiveModel {
  static override tableName = 'wp_schema.wp_schemed';
  static override capture = 'database' as const;
  static override jsonSchema = {
    type: 'object',
    required: ['label'],
    properties: { id: { type: 'integer' }, label: { type: 'string', maxLength: 20 } },
  };
}

class SchemedConsumer extends ObserverModelInstanceMixin(
  DeleteModelMixin(PatchModelMixin(CreateModelMixin(RetrieveModelMixin(GenericAsyncAPIConsumer)))),
) {
  static override queryset = Schemed;
  static override serializerClass = modelSerializer(Schemed, { fields: ['id', 'label'] });
}

const tables = {
  name: '0001-wp-schema',
  async up(knex: import('knex').Knex) {
    await knex.raw('create schema if not exists wp_schema');
    await knex.schema.withSchema('wp_schema').createTable('wp_schemed', (table) => {
      table.increments('id');
      table.string('label', 20).notNullable();
    });
  },
};

const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

describe('a captured model in a PostgreSQL schema', {
  skip: !onPostgres && 'PostgreSQL pass only (a table in a schema of its own)',
}, () => {
  let app: App;
  let url: string;
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase(process.env.TEST_DATABASE_URL!);
    app = await createApp({
      database: database.url,
      redis: process.env.TEST_REDIS_URL,
      redisPrefix: uniqueRedisPrefix(),
      streams: { schemed: SchemedConsumer },
      migrations: [tables, changeLogMigration, captureMigration('0002-wp-schema-capture', [Schemed])],
      config: loadConfig({}),
    });
    url = (await app.listen({ port: 0 })).url.replace('http', 'ws');
  });
  after(async () => {
    await app?.close();
    await database?.drop();
  });

  test('create, patch and delete answer with the row, a watcher hears each once, the table holds what was answered', async () => {
    const writer = await TestSocket.open(`${url}/ws/schemed`);
    const watcher = await TestSocket.open(`${url}/ws/schemed`);
    try {
      const created = await writer.request({ action: 'create', data: { label: 'first' }, request_id: 'c' });
      assert.equal(created.response_status, 201, JSON.stringify(created));
      const pk = created.data.id as number;
      assert.deepEqual(created.data, { id: pk, label: 'first' });
      assert.equal((await watcher.request({ action: 'subscribe_instance', pk, request_id: 'w' })).response_status, 201);

      const patched = await writer.request({ action: 'patch', pk, data: { label: 'second' }, request_id: 'p' });
      assert.equal(patched.response_status, 200, JSON.stringify(patched));
      assert.deepEqual(patched.data, { id: pk, label: 'second' });
      const update = await watcher.next();
      assert.equal(update.action, 'update');
      assert.equal(update.request_id, 'w');
      assert.deepEqual(update.data, { id: pk, label: 'second' });
      const retrieved = await writer.request({ action: 'retrieve', pk, request_id: 'r' });
      assert.deepEqual(retrieved.data, { id: pk, label: 'second' });

      const deleted = await writer.request({ action: 'delete', pk, request_id: 'd' });
      assert.equal(deleted.response_status, 204, JSON.stringify(deleted));
      const gone = await watcher.next();
      assert.equal(gone.action, 'delete');
      assert.equal(await watcher.quiet(), true, 'each change heard once');
      assert.deepEqual(await app.knex!('wp_schema.wp_schemed').select('*'), []);
      const logged = await app.knex!('dcrf_change_log').where({ model: 'Schemed' }).count<{ count: string }[]>({ count: '*' });
      assert.equal(Number(logged[0]!.count), 3, 'the create, the patch and the delete, logged once each');
    } finally {
      writer.close();
      watcher.close();
    }
  });
});
