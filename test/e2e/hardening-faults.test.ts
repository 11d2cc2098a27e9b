/**
 * Faults: the database failing mid-action, and errors thrown by actions, serializers, observers and
 * the PubSub. Each gives the client a 500 "Internal server error" (no stack, no SQL, no secret), is
 * logged once with its request id, keeps the socket open, and the same request works again once the
 * fault is gone. Nothing crashes the process (no uncaught exception or unhandled rejection).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { PubSub } from 'graphql-subscriptions';
import { Model } from 'objection';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { captureLogs, metric, scrape } from '../helpers/hardening.js';
import { demoStreams } from '../../src/demo/consumers.js';
import { Thing } from '../../src/demo/models.js';
import { ThingSerializer } from '../../src/demo/serializers.js';
import type { ConsumerClass } from '../../src/dcrf/consumer.js';
import { GenericAsyncAPIConsumer } from '../../src/dcrf/generic.js';
import { PatchModelMixin, RetrieveModelMixin } from '../../src/dcrf/mixins.js';
import { modelObserver, ObserverModelInstanceMixin } from '../../src/dcrf/observers.js';
import { action, type ActionArgs } from '../../src/dcrf/actions.js';
import type { ActionResult } from '../../src/dcrf/protocol.js';
import type { Row, SerializerClass } from '../../src/serializers/serializer.js';

const SECRET = 'hunter2-secret';

/** Thing's serializer, except that a row named "boom" makes it throw (a bug in user code). */
class FragileSerializer extends (ThingSerializer as unknown as new () => { toRepresentation(row: Row): Row }) {
  override toRepresentation(row: Row): Row {
    if (row.name === 'boom') throw new Error(`serializer failed on SELECT password FROM users -- ${SECRET}`);
    return super.toRepresentation(row);
  }
}

function boomGroups(row: Row): string[] {
  if (row.name === 'boom') throw new Error(`groupsForSignal failed -- ${SECRET}`);
  return ['all'];
}

const throwingBody = modelObserver(Thing, {
  name: 'hardening_throwing_body',
  serializer: (row) => {
    if (row.name === 'boom') throw new Error(`observer body failed -- ${SECRET}`);
    return { pk: row.id, name: row.name };
  },
});
const rejectingHandler = modelObserver(Thing, {
  name: 'hardening_rejecting_handler',
  handler: async (consumer, event) => {
    if ((event.body as { name?: string }).name === 'boom') throw new Error(`observer handler failed -- ${SECRET}`);
    for (const id of event.subscribingRequestIds)
      consumer.sendJson({ errors: [], data: event.body, action: event.action, response_status: 200, request_id: id });
  },
  serializer: (row) => ({ pk: row.id, name: row.name }),
});
const throwingGroups = modelObserver(Thing, {
  name: 'hardening_throwing_groups',
  groupsForSignal: boomGroups,
  groupsForConsumer: () => ['all'],
  serializer: (row) => ({ pk: row.id, name: row.name }),
});

class FragileConsumer extends ObserverModelInstanceMixin(PatchModelMixin(RetrieveModelMixin(GenericAsyncAPIConsumer))) {
  static override queryset = Thing;
  static override serializerClass = FragileSerializer as unknown as SerializerClass;

  @action()
  explode(): ActionResult {
    throw new Error(`SQLITE_ERROR: near "DROP": syntax error in SELECT * FROM users WHERE token = '${SECRET}'`);
  }

  @action({ detached: true })
  async explode_later(): Promise<ActionResult> {
    await new Promise((resolve) => setImmediate(resolve));
    throw new TypeError(`Cannot read properties of undefined (reading '${SECRET}')`);
  }

  @action()
  async watch(args: ActionArgs): Promise<ActionResult> {
    const observer = { body: throwingBody, handler: rejectingHandler, groups: throwingGroups }[String(args.kind) as 'body'];
    await observer.subscribe(this, {}, args.request_id);
    return [null, 201];
  }
}

/** A PubSub that can be told to fail: the faults a broken or unreachable broker produces. */
class FlakyPubSub extends PubSub {
  mode: 'ok' | 'reject' | 'throw' | 'refuse-subscribe' = 'ok';
  override publish(topic: string, payload: unknown): Promise<void> {
    if (this.mode === 'throw') throw new Error(`broker exploded -- ${SECRET}`);
    if (this.mode === 'reject') return Promise.reject(new Error(`broker unreachable -- ${SECRET}`));
    return super.publish(topic, payload);
  }
  override subscribe(topic: string, handler: (...args: any[]) => void): Promise<number> {
    if (this.mode === 'refuse-subscribe') return Promise.reject(new Error(`SUBSCRIBE refused -- ${SECRET}`));
    return super.subscribe(topic, handler);
  }
}

const crashes: unknown[] = [];
const onCrash = (error: unknown) => crashes.push(error);
let app: TestApp;
let logs: ReturnType<typeof captureLogs>;
let token: string;

before(async () => {
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtException', onCrash);
  app = await startTestApp({ gateway: { streams: { ...demoStreams, fragile: FragileConsumer as unknown as ConsumerClass } } });
  token = await app.token('faulty');
  logs = captureLogs('error');
});
after(async () => {
  logs.stop();
  await app.close();
  process.off('unhandledRejection', onCrash);
  process.off('uncaughtException', onCrash);
});

/** Log lines that mention this request id (as `request_id` or in `request_ids`). */
function linesFor(requestId: unknown): Array<Record<string, unknown>> {
  return logs.lines.filter(
    (line) => line.request_id === requestId || (Array.isArray(line.request_ids) && line.request_ids.includes(requestId)),
  );
}

function assertNoLeak(frame: unknown): void {
  const text = JSON.stringify(frame);
  for (const word of [SECRET, 'SELECT', 'select', 'SQLITE', 'insert', 'update `', 'things', 'at ', '.ts:', 'Error']) {
    assert.ok(!text.includes(word), `reply leaks "${word}": ${text}`);
  }
}

const INTERNAL = ['Internal server error'];

test('an action that throws: 500 without detail, logged once with its request id, socket still serves', async () => {
  const socket = await TestSocket.open(`${app.wsUrl}/ws/fragile/?token=${token}`);
  const failed = await socket.request({ action: 'explode', request_id: 'x-1' });
  assert.deepEqual(failed, reply('explode', null, 500, 'x-1', INTERNAL));
  assertNoLeak(failed);
  const later = await socket.request({ action: 'explode_later', request_id: 'x-2' });
  assert.deepEqual(later, reply('explode_later', null, 500, 'x-2', INTERNAL));
  for (const id of ['x-1', 'x-2']) {
    const lines = linesFor(id);
    assert.equal(lines.length, 1, `log lines for ${id}: ${JSON.stringify(lines)}`);
    assert.match(String(lines[0]!.error), new RegExp(SECRET), 'the log keeps the detail the client does not get');
  }
  assert.deepEqual(
    await socket.request({ action: 'retrieve', pk: 999_999, request_id: 'x-3' }),
    reply('retrieve', null, 404, 'x-3', ['Not found']),
  );
  socket.close();
});

test('a serializer that throws: 500 on retrieve; on an event, nothing is sent, it is logged, and the subscription lives on', async () => {
  const things = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const fragile = await TestSocket.open(`${app.wsUrl}/ws/fragile/`);
  const boom = (await things.request({ action: 'create', data: { name: 'boom' }, request_id: 'c' })).data;
  const failed = await fragile.request({ action: 'retrieve', pk: boom.pk, request_id: 'r-boom' });
  assert.deepEqual(failed, reply('retrieve', null, 500, 'r-boom', INTERNAL));
  assertNoLeak(failed);
  assert.equal(linesFor('r-boom').length, 1);

  const row = (await things.request({ action: 'create', data: { name: 'fine' }, request_id: 'c2' })).data;
  assert.equal((await fragile.request({ action: 'subscribe_instance', pk: row.pk, request_id: 'sub-1' })).response_status, 201);
  await things.request({ action: 'patch', pk: row.pk, data: { name: 'boom' }, request_id: 'p1' });
  await things.request({ action: 'patch', pk: row.pk, data: { name: 'fine again' }, request_id: 'p2' });
  assert.deepEqual(await fragile.next(), reply('update', { pk: row.pk, name: 'fine again', counter: 0 }, 200, 'sub-1'));
  const lines = linesFor('sub-1');
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(await fragile.quiet(100), true);
  things.close();
  fragile.close();
});

test('observers whose body, handler or groups throw: logged, other events still delivered, process alive', async () => {
  const things = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const watcher = await TestSocket.open(`${app.wsUrl}/ws/fragile/`);
  for (const kind of ['body', 'handler', 'groups']) {
    assert.equal((await watcher.request({ action: 'watch', kind, request_id: `w-${kind}` })).response_status, 201);
  }
  await things.request({ action: 'create', data: { name: 'boom' }, request_id: 'c-boom' });
  await things.request({ action: 'create', data: { name: 'calm' }, request_id: 'c-calm' });
  const received = [];
  for (let i = 0; i < 3; i++) received.push(await watcher.next());
  assert.deepEqual(received.map((frame) => frame.request_id).sort(), ['w-body', 'w-groups', 'w-handler']);
  for (const frame of received) {
    assert.equal(frame.action, 'create');
    assert.equal(frame.data.name, 'calm');
  }
  assert.equal(await watcher.quiet(100), true);
  assert.equal(linesFor('w-body').length, 1);
  assert.equal(linesFor('w-handler').length, 1);
  assert.ok(
    logs.raw.some((line) => line.includes('groupsForSignal failed')),
    'the throwing groupsForSignal was logged',
  );
  assert.deepEqual(crashes, []);
  things.close();
  watcher.close();
});

test('a PubSub that refuses, rejects or throws: actions still answer, events resume when it recovers', async () => {
  const flaky = new FlakyPubSub();
  // An app of its own whose runtime publishes through the flaky PubSub (its subscribers all live here).
  const flakyApp = await startTestApp({ runtime: { pubsub: flaky, pubsubInProcess: true } });
  const hub = flakyApp.runtime.hub;
  try {
    const socket = await TestSocket.open(`${flakyApp.wsUrl}/ws/things/`);
    const row = (await socket.request({ action: 'create', data: { name: 'pubsub' }, request_id: 'c' })).data;
    flaky.mode = 'refuse-subscribe';
    const refused = await socket.request({ action: 'subscribe_instance', pk: row.pk, request_id: 'sub-refused' });
    assert.deepEqual(refused, reply('subscribe_instance', null, 500, 'sub-refused', INTERNAL));
    assertNoLeak(refused);
    assert.equal(linesFor('sub-refused').length, 1);
    flaky.mode = 'ok';
    assert.equal((await socket.request({ action: 'subscribe_instance', pk: row.pk, request_id: 'sub' })).response_status, 201);
    for (const [index, mode] of (['reject', 'throw'] as const).entries()) {
      flaky.mode = mode;
      const counter = index + 1;
      const patched = await socket.request({ action: 'patch', pk: row.pk, data: { counter }, request_id: `p-${mode}` });
      assert.deepEqual(patched, reply('patch', { pk: row.pk, name: 'pubsub', counter }, 200, `p-${mode}`));
      // The change is in the change log: the next poll of its head delivers what the PubSub refused.
      assert.deepEqual(
        await socket.next(),
        reply('update', { pk: row.pk, name: 'pubsub', counter }, 200, 'sub'),
        `event while the PubSub ${mode}s`,
      );
    }
    flaky.mode = 'ok';
    await socket.request({ action: 'patch', pk: row.pk, data: { counter: 3 }, request_id: 'p-ok' });
    assert.deepEqual(await socket.next(), reply('update', { pk: row.pk, name: 'pubsub', counter: 3 }, 200, 'sub'));
    assert.equal(await socket.quiet(700), true, 'each change once');
    // Nothing was lost: the log delivered both refused publishes.
    assert.equal(hub.stats.lost, 0);
    socket.close();
  } finally {
    await flakyApp.close();
    // The demo binds its models (and its token authenticator) to the database opened last: this file's app's again.
    Model.knex(app.knex);
  }
  assert.deepEqual(crashes, []);
});

test('the database fails mid-action (table gone): 500 without SQL, socket open, works again once it is back', async () => {
  const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`, { headers: { Authorization: `Bearer ${token}` } });
  const row = (await socket.request({ action: 'create', data: { name: 'db' }, request_id: 'c' })).data;
  await app.knex.schema.renameTable('things', 'things_away');
  try {
    for (const [index, frame] of [
      { action: 'create', data: { name: 'lost' } },
      { action: 'patch', pk: row.pk, data: { name: 'lost' } },
      { action: 'list' },
    ].entries()) {
      const id = `db-${index}`;
      const answer = await socket.request({ ...frame, request_id: id });
      assert.deepEqual(answer, reply(frame.action, null, 500, id, INTERNAL));
      assertNoLeak(answer);
      assert.equal(linesFor(id).length, 1, `${id} logged once`);
    }
  } finally {
    await app.knex.schema.renameTable('things_away', 'things');
  }
  assert.deepEqual(
    await socket.request({ action: 'patch', pk: row.pk, data: { name: 'back' }, request_id: 'p' }),
    reply('patch', { pk: row.pk, name: 'back', counter: 0 }, 200, 'p'),
  );
  assert.equal((await socket.request({ action: 'create', data: { name: 'new' }, request_id: 'c2' })).response_status, 201);
  assert.equal(socket.closeCode, undefined);
  assert.ok(!logs.raw.some((line) => line.includes(token)), 'no log line holds the token');
  socket.close();
});

test('the SQLite file is locked by another connection past DATABASE_BUSY_TIMEOUT: writes answer 503, then succeed after the lock is released', {
  skip: process.env.TEST_DATABASE_URL ? 'SQLite file lock; this pass runs on PostgreSQL' : false,
}, async () => {
  const socket = await TestSocket.open(`${app.wsUrl}/ws/things/?token=${token}`);
  const row = (await socket.request({ action: 'create', data: { name: 'lock' }, request_id: 'c' })).data;
  const filename = (app.knex.client.config.connection as { filename: string }).filename;
  const locker = new Database(filename);
  locker.exec('BEGIN EXCLUSIVE');
  try {
    // The write waits out the lock for DATABASE_BUSY_TIMEOUT (5 s here), then gives a retryable answer.
    const failed = await socket.request({ action: 'patch', pk: row.pk, data: { counter: 5 }, request_id: 'locked' }, 30_000);
    assert.deepEqual(failed, reply('patch', null, 503, 'locked', ['Database busy: try again.']));
    assertNoLeak(failed);
    // Reads still answer during the lock (WAL readers are not blocked by a writer).
    assert.deepEqual(await socket.request({ action: 'retrieve', pk: row.pk, request_id: 'r' }), reply('retrieve', row, 200, 'r'));
  } finally {
    locker.exec('ROLLBACK');
    locker.close();
  }
  assert.deepEqual(
    await socket.request({ action: 'patch', pk: row.pk, data: { counter: 5 }, request_id: 'unlocked' }),
    reply('patch', { ...row, counter: 5 }, 200, 'unlocked'),
  );
  const text = await scrape(app.url);
  assert.ok(metric(text, 'dcrf_gateway_dcrf_actions_total', { stream: 'things', action: 'patch', status: '503' }) >= 1);
  assert.equal(metric(text, 'dcrf_gateway_database_busy_timeouts_total'), 1);
  assert.ok(!logs.raw.some((line) => line.includes(token)), 'no log line holds the token');
  assert.deepEqual(crashes, []);
  socket.close();
});
