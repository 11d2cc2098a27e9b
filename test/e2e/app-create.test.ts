/**
 * `createApp` called from code: an app without a database, an app with a database, migrations and a
 * GraphQL schema on the pass's database, and the environment's settings under the code's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type ActionArgs,
  type ActionResult,
  AsyncAPIConsumer,
  CreateModelMixin,
  createApp,
  GenericAsyncAPIConsumer,
  ListModelMixin,
  LiveModel,
  loadConfig,
  modelSerializer,
  registerAction,
  Serializer,
  CharField,
  Signal,
  setLogger,
} from '../../src/index.js';
import knexFactory from 'knex';
import { knexSnakeCaseMappers } from 'objection';
import { Runtime } from '../../src/runtime.js';
import { TestSocket } from '../helpers/app.js';
import { createTestDatabase, uniqueRedisPrefix } from '../helpers/postgres.js';

class Echo extends AsyncAPIConsumer {
  echo(args: ActionArgs): ActionResult {
    return [{ said: args.text }, 200];
  }
}
registerAction(Echo, 'echo');

class Pin extends LiveModel {
  static override tableName = 'app_create_pins';
  static override jsonSchema = { type: 'object', properties: { id: { type: 'integer' }, label: { type: 'string' } } };
}

class PinConsumer extends CreateModelMixin(ListModelMixin(GenericAsyncAPIConsumer)) {
  static override queryset = Pin;
  static override serializerClass = modelSerializer(Pin, { fields: ['id', 'label'] });
}

test('an app without a database: its stream answers, /healthz is 200, playground: false serves no /api/streams', async () => {
  const app = await createApp({ streams: { echo: Echo }, playground: false, config: loadConfig({}) });
  try {
    assert.equal(app.knex, undefined);
    const { url } = await app.listen({ port: 0 });
    const socket = await TestSocket.open(`${url.replace('http', 'ws')}/ws/echo`);
    assert.deepEqual((await socket.request({ action: 'echo', text: 'hi', request_id: 1 })).data, { said: 'hi' });
    socket.close();
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/api/streams`)).status, 404);
    await assert.rejects(app.listen({ port: 0 }), /app\.listen: the app listens already, on http:\/\/127\.0\.0\.1:\d+/);
  } finally {
    await app.close();
  }
});

test('an app with migrations and a schema: the change log is added, writes are events, GraphQL answers', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-create-'));
  const database = process.env.TEST_DATABASE_URL ? await createTestDatabase(process.env.TEST_DATABASE_URL) : undefined;
  const app = await createApp({
    database: database?.url ?? `sqlite:${path.join(dir, 'pins.sqlite3')}`,
    redis: process.env.TEST_REDIS_URL,
    redisPrefix: uniqueRedisPrefix(),
    streams: { pins: PinConsumer },
    migrations: [
      {
        name: '0001-pins',
        up: (knex) =>
          knex.schema.createTable('app_create_pins', (table) => {
            table.increments('id');
            table.string('label');
          }),
      },
    ],
    schema: { typeDefs: 'type Query { pinCount: Int! }', resolvers: { Query: { pinCount: async () => (await Pin.query()).length } } },
    config: loadConfig({}),
  });
  try {
    assert.equal(app.runtime.changeLog.enabled, true, 'changeLogMigration was added to the migrations');
    const { url } = await app.listen({ port: 0 });
    const socket = await TestSocket.open(`${url.replace('http', 'ws')}/ws/pins`);
    const created = await socket.request({ action: 'create', data: { label: 'first' }, request_id: 1 });
    assert.equal(created.response_status, 201, JSON.stringify(created));
    const listed = await socket.request({ action: 'list', with_position: true, request_id: 2 });
    assert.equal(typeof listed.position, 'string', 'reads carry positions: the log is there');
    socket.close();
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ pinCount }' }),
    });
    assert.deepEqual(await response.json(), { data: { pinCount: 1 } });
  } finally {
    await app.close();
    await database?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the environment's limits stay when the code sets others: one by one, not as a whole", async () => {
  const app = await createApp({
    streams: { echo: Echo },
    config: loadConfig({ MAX_JSON_DEPTH: '3' }),
    gateway: { limits: { ratePerSecond: 1000 } },
  });
  try {
    const { url } = await app.listen({ port: 0 });
    const socket = await TestSocket.open(`${url.replace('http', 'ws')}/ws/echo`);
    const refused = await socket.request({ action: 'echo', text: { a: { b: { c: {} } } }, request_id: 1 });
    assert.equal(refused.response_status, 400, 'MAX_JSON_DEPTH from the environment still applies');
    assert.deepEqual((await socket.request({ action: 'echo', text: 'flat', request_id: 2 })).data, { said: 'flat' });
    socket.close();
  } finally {
    await app.close();
  }
});

test('options that cannot make an app are refused before anything opens, naming the fix', async () => {
  await assert.rejects(createApp({} as never), /createApp: `streams` is missing/);
  await assert.rejects(createApp({ streams: { echo: 'Echo' as never } }), /stream "echo" is not a consumer class/);
  await assert.rejects(createApp({ streams: {}, database: 'mysql://x' }), /DATABASE_URL must start with sqlite: or postgres:\/\//);
});

test('a knex that renames identifiers itself (knexSnakeCaseMappers in its config) is refused with the fix, before it is migrated', async () => {
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: ':memory:' },
    useNullAsDefault: true,
    ...knexSnakeCaseMappers(),
  });
  try {
    const fix = /renames identifiers .*`static columnNameMappers = snakeCaseMappers\(\)`/;
    await assert.rejects(createApp({ knex, streams: { echo: Echo } }), fix);
    assert.equal(await knex.schema.hasTable('dcrf_change_log'), false, 'nothing migrated');
    await assert.rejects(Runtime.create({ knex }), fix);
  } finally {
    await knex.destroy();
  }
});

test("an app's logger gets the library's records; its signals are sendable with SIGNAL_TOKEN; a refused gateway leaves nothing open", async () => {
  const records: Array<{ level: string; message: string }> = [];
  const record =
    (level: string) =>
    (fields: unknown, message?: string): void => {
      records.push({ level, message: typeof fields === 'string' ? fields : (message ?? '') });
    };
  const logger = {
    trace: record('trace'),
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    fatal: record('fatal'),
  };
  const token = 'app-create-signal-token-0123456789abcdef';
  const joined = new Signal('app_create_joined');
  class JoinedSerializer extends Serializer {
    static override fields = { room: new CharField({ maxLength: 20 }) };
  }
  const app = await createApp({
    streams: { echo: Echo },
    config: loadConfig({ SIGNAL_TOKEN: token }),
    logger,
    signals: { signals: [{ signal: joined, serializer: new JoinedSerializer() }] },
  });
  try {
    const { url } = await app.listen({ port: 0 });
    assert.ok(
      records.some((each) => each.level === 'info' && /listening/.test(each.message)),
      'the listening line went to the app logger',
    );
    const sent = await fetch(`${url}/signals/app_create_joined`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { room: 'r1' } }),
    });
    assert.equal(sent.status, 202, await sent.clone().text());
  } finally {
    await app.close();
    setLogger(undefined);
  }
  // A gateway that cannot be built (a signal token too short) closes the database and runtime it opened.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-create-refused-'));
  const database = `sqlite:${path.join(dir, 'refused.sqlite3')}`;
  await assert.rejects(
    createApp({ streams: { echo: Echo }, database, migrations: [], signals: { token: 'short', signals: [] } }),
    /32 characters/,
  );
  fs.rmSync(dir, { recursive: true, force: true });
});
