/**
 * Two apps side by side in one process: the demo's stream definitions and GraphQL schema served by
 * two gateways, each with a runtime of its own over a database of its own (and, in the PostgreSQL
 * pass, a Redis prefix of its own). Resources, consumers and observers are the same module-level
 * objects; the state lives in the runtimes, so a write in one app is an event there and never in
 * the other, on DCRF and GraphQL alike, for row, model, group and signal subscriptions and for ORM
 * writes made outside any socket.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { openDatabase } from '../../src/db/knex.js';
import { migrate } from '../../src/db/migrations.js';
import { demoMigrations } from '../../src/demo/app.js';
import { demoStreams } from '../../src/demo/consumers.js';
import { createDemoGraphQLAdapter } from '../../src/demo/graphql.js';
import { Classroom, School, Thing } from '../../src/demo/models.js';
import { Gateway } from '../../src/server/gateway.js';
import { Runtime } from '../../src/runtime.js';
import { TestSocket, type TestApp } from '../helpers/app.js';
import { execute, graphqlClient, subscribeLive } from '../helpers/graphql.js';
import { createTestDatabase, uniqueRedisPrefix, type TestDatabase } from '../helpers/postgres.js';

interface App {
  name: string;
  knex: Knex;
  runtime: Runtime;
  gateway: Gateway;
  url: string;
  wsUrl: string;
  close(): Promise<void>;
}

/** An app built on the library the way a user builds one: its database, its runtime, a gateway. */
async function startApp(name: string, dir: string): Promise<App> {
  const database: TestDatabase | undefined = process.env.TEST_DATABASE_URL
    ? await createTestDatabase(process.env.TEST_DATABASE_URL)
    : undefined;
  const knex = openDatabase(database?.url ?? `sqlite:${path.join(dir, `${name}.sqlite3`)}`);
  await migrate(knex, demoMigrations);
  const redisUrl = process.env.TEST_REDIS_URL;
  const runtime = await Runtime.create({ knex, ...(redisUrl ? { redisUrl, redisPrefix: uniqueRedisPrefix() } : {}) });
  const gateway = new Gateway({ runtime, streams: demoStreams, graphql: createDemoGraphQLAdapter() });
  const port = await gateway.listen(0);
  return {
    name,
    knex,
    runtime,
    gateway,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    async close() {
      await gateway.close();
      await runtime.close();
      await knex.destroy();
      await database?.drop();
    },
  };
}

let dir: string;
let one: App;
let two: App;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-two-apps-'));
  [one, two] = await Promise.all([startApp('one', dir), startApp('two', dir)]);
});

after(async () => {
  await Promise.all([one?.close(), two?.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const open = (app: App, path: string) => TestSocket.open(`${app.wsUrl}${path}`);
const asTestApp = (app: App) => app as unknown as TestApp;

test('each knex finds its own runtime; the two hubs share nothing', () => {
  assert.equal(Runtime.of(one.knex), one.runtime);
  assert.equal(Runtime.of(two.knex), two.runtime);
  assert.notEqual(one.runtime.hub, two.runtime.hub);
});

test('DCRF: a write in one app is an event there and never in the other (row, model and group subscriptions)', async () => {
  // The same primary key and school in both databases: only the runtime tells the rows apart.
  const [schoolOne, schoolTwo] = [await School.query(one.knex).insert({ name: 's' }), await School.query(two.knex).insert({ name: 's' })];
  assert.equal(schoolOne.id, schoolTwo.id);
  const [thingOne, thingTwo] = [await Thing.query(one.knex).insert({ name: 'a' }), await Thing.query(two.knex).insert({ name: 'a' })];
  assert.equal(thingOne.id, thingTwo.id);
  const listeners = new Map<App, TestSocket>();
  for (const app of [one, two]) {
    const socket = await open(app, '/ws');
    const frames = [
      { stream: 'things', payload: { action: 'subscribe_instance', pk: thingOne.id, request_id: 'row' } },
      { stream: 'things', payload: { action: 'subscribe_many', request_id: 'many' } },
      { stream: 'classrooms', payload: { action: 'subscribe_to_classrooms_in_school', school_pk: schoolOne.id, request_id: 'school' } },
    ];
    for (const frame of frames) assert.equal((await socket.request(frame)).payload.response_status, 201);
    listeners.set(app, socket);
  }
  for (const [writer, other] of [
    [one, two],
    [two, one],
  ] as const) {
    const socket = await open(writer, '/ws/things/');
    const patched = await socket.request({ action: 'patch', pk: thingOne.id, data: { counter: writer === one ? 1 : 2 }, request_id: 'p' });
    assert.equal(patched.response_status, 200);
    socket.close();
    await Classroom.query(writer.knex).insert({ name: `room of ${writer.name}`, school: schoolOne.id });
    const listener = listeners.get(writer)!;
    const frames = [await listener.next(), await listener.next(), await listener.next()].map((frame) => frame.payload);
    const heard = Object.fromEntries(frames.map((frame) => [frame.request_id, [frame.action, frame.data.counter ?? frame.data.name]]));
    const counter = writer === one ? 1 : 2;
    assert.deepEqual(
      heard,
      { row: ['update', counter], many: ['update', counter], school: ['create', `room of ${writer.name}`] },
      `${writer.name}'s subscribers hear its writes`,
    );
    assert.ok(await listeners.get(other)!.quiet(300), `${other.name}'s subscribers hear nothing of ${writer.name}'s writes`);
  }
  for (const socket of listeners.values()) socket.close();
});

test('GraphQL: an activity subscription hears its own app only; a chat join reaches its own app only', async () => {
  const clients = [graphqlClient(asTestApp(one)), graphqlClient(asTestApp(two))];
  try {
    const activity = await Promise.all(
      clients.map((client) => subscribeLive(client, 'subscription { thingActivity { action data { id name } } }')),
    );
    const chats = await Promise.all(
      clients.map((client) => subscribeLive(client, 'subscription { joinedChat(chatId: "room") { username chatId } }')),
    );
    const created = await execute(clients[0]!, 'mutation { createThing(input: { name: "from one" }) { id name } }');
    assert.equal(created.errors, undefined);
    assert.deepEqual((await activity[0]!.next()).data, { thingActivity: { action: 'CREATE', data: created.data.createThing } });
    await Thing.query(two.knex).insert({ name: 'from two, outside any socket' });
    assert.equal((await activity[1]!.next()).data.thingActivity.data.name, 'from two, outside any socket');
    await execute(clients[1]!, 'mutation { joinChat(chatId: "room") }');
    assert.deepEqual((await chats[1]!.next()).data, { joinedChat: { username: 'anonymous', chatId: 'room' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(activity[0]!.unread, 0, 'one hears nothing of two');
    assert.equal(activity[1]!.unread, 0, 'two hears nothing of one');
    assert.equal(chats[0]!.unread, 0, "one's chat hears nothing of two's join");
    for (const recorded of [...activity, ...chats]) recorded.dispose();
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
  }
});

test('a model used on a knex with no runtime captures nothing and publishes nowhere', async () => {
  const loose = openDatabase(`sqlite:${path.join(dir, 'loose.sqlite3')}`);
  try {
    await migrate(loose, demoMigrations);
    const listener = await open(one, '/ws/things/');
    assert.equal((await listener.request({ action: 'subscribe_many', request_id: 'm' })).response_status, 201);
    assert.equal(Runtime.of(loose), undefined);
    await Thing.query(loose).insert({ name: 'nobody hears this' });
    assert.ok(await listener.quiet(300));
    listener.close();
  } finally {
    await loose.destroy();
  }
});

test('a knex already bound to a runtime cannot get a second one until the first is closed', async () => {
  await assert.rejects(Runtime.create({ knex: one.knex }), /already has a runtime/);
  const extra = openDatabase(`sqlite:${path.join(dir, 'extra.sqlite3')}`);
  try {
    const first = await Runtime.create({ knex: extra });
    await first.close();
    assert.equal(Runtime.of(extra), undefined, 'closing a runtime unbinds its knex');
    const second = await Runtime.create({ knex: extra });
    assert.equal(Runtime.of(extra), second);
    await second.close();
  } finally {
    await extra.destroy();
  }
});

test('each gateway reports its own runtime: /healthz and the hub metrics', async () => {
  for (const app of [one, two]) {
    const response = await fetch(`${app.url}/healthz`);
    assert.deepEqual([response.status, await response.json()], [200, { status: 'ok' }]);
  }
  const published = async (app: App) => {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    return Number(/^dcrf_gateway_events_published_total (\d+)/m.exec(text)?.[1] ?? 0);
  };
  assert.equal(await published(one), one.runtime.hub.stats.published);
  assert.equal(await published(two), two.runtime.hub.stats.published);
});
