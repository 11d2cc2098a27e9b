/**
 * How events reach sockets: request_id routing with several subscriptions on one socket (also
 * multiplexed), the reply before the event it caused, transactions (rollback, several writes to one
 * row), bulk ORM writes, permissions re-checked per event, disconnect dropping every subscription, and
 * one serialization per message and group whatever the number of subscribers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { raw } from 'objection';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { Classroom, School, Thing } from '../../src/demo/models.js';
import { ThingConsumer, demoStreams } from '../../src/demo/consumers.js';
import { ClassroomSerializer, ThingSerializer } from '../../src/demo/serializers.js';
import { BasePermission } from '../../src/permissions.js';
import type { ConnectionScope } from '../../src/scope.js';
import type { ConsumerClass } from '../../src/dcrf/consumer.js';
import { serializerInstance } from '../../src/serializers/serializer.js';

/** Usernames whose permission was taken away; read at every action and every event. */
const revoked = new Set<string>();

class NotRevoked extends BasePermission {
  override hasPermission(scope: ConnectionScope): boolean {
    return !revoked.has(String(scope.user?.username ?? 'anonymous'));
  }
}

/** `things`, behind a permission that can change while a subscription is open. */
class GuardedThingConsumer extends ThingConsumer {
  static override permissionClasses = [NotRevoked];
}

let app: TestApp;
before(async () => {
  app = await startTestApp({
    gateway: { streams: { ...demoStreams, guarded_things: GuardedThingConsumer as unknown as ConsumerClass } },
  });
});
after(async () => {
  await app.close();
});

const open = (path: string) => TestSocket.open(`${app.wsUrl}${path}`);

/** The next `count` frames (generous wait: a loaded machine may be slow, and only a missing frame fails). */
async function take(socket: TestSocket, count: number): Promise<any[]> {
  const frames = [];
  for (let i = 0; i < count; i++) frames.push(await socket.next(10_000));
  return frames;
}

/** Waits (polling) until `check` holds or `ms` pass; returns its last value. */
async function eventually(check: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  return check();
}

test('several subscriptions on one socket: every event carries the request_id of the subscription it matched', async () => {
  const s = await open('/ws/things/');
  const writer = await open('/ws/things/');
  const x = (await writer.request({ action: 'create', data: { name: 'x' }, request_id: 1 })).data;
  const y = (await writer.request({ action: 'create', data: { name: 'y' }, request_id: 2 })).data;
  await s.request({ action: 'subscribe_instance', pk: x.pk, request_id: 'inst-x' });
  await s.request({ action: 'subscribe_instance', pk: y.pk, request_id: 'inst-y' });
  await s.request({ action: 'subscribe_many', things: [y.pk], request_id: 'many-y' });
  await s.request({ action: 'subscribe_many', request_id: 'many-all' });

  await writer.request({ action: 'patch', pk: x.pk, data: { counter: 1 }, request_id: 3 });
  const forX = await take(s, 2);
  assert.deepEqual(forX.map((f) => f.request_id).sort(), ['inst-x', 'many-all']);
  await writer.request({ action: 'patch', pk: y.pk, data: { counter: 2 }, request_id: 4 });
  const forY = await take(s, 3);
  assert.deepEqual(forY.map((f) => f.request_id).sort(), ['inst-y', 'many-all', 'many-y']);
  assert.ok(forY.every((f) => f.action === 'update' && f.data.pk === y.pk && f.data.counter === 2));
  assert.ok(await s.quiet(), 'no duplicates');

  // Multiplexed: each event goes out wrapped in the stream of the subscription.
  const m = await open('/ws');
  m.send({ stream: 'things', payload: { action: 'subscribe_many', request_id: 1 } });
  m.send({ stream: 'tests', payload: { action: 'subscribe_activity', request_id: 1 } });
  assert.deepEqual(await take(m, 2), [
    { stream: 'things', payload: reply('subscribe_many', null, 201, 1) },
    { stream: 'tests', payload: reply('subscribe_activity', null, 201, 1) },
  ]);
  m.send({ stream: 'tests', payload: { action: 'create', data: { name: 'mux test' }, request_id: 2 } });
  const [created, event] = await take(m, 2);
  assert.deepEqual(created, { stream: 'tests', payload: reply('create', created.payload.data, 201, 2) });
  assert.deepEqual(event, { stream: 'tests', payload: reply('create', created.payload.data, 200, 1) });
  for (const socket of [s, writer, m]) socket.close();
});

test('pipelined writes on the subscribing socket: each reply comes before the event it caused, events in commit order', async () => {
  const s = await open('/ws/things/');
  await s.request({ action: 'subscribe_many', request_id: 'sub' });
  s.send({ action: 'create', data: { name: 'p' }, request_id: 1 });
  const first = await s.next();
  assert.deepEqual(first, reply('create', first.data, 201, 1));
  const pk = first.data.pk;
  s.send({ action: 'patch', pk, data: { counter: 1 }, request_id: 2 });
  s.send({ action: 'patch', pk, data: { counter: 2 }, request_id: 3 });
  s.send({ action: 'delete', pk, request_id: 4 });
  const frames = [first, ...(await take(s, 7))];
  const at = (predicate: (f: any) => boolean) => frames.findIndex(predicate);
  const replyAt = (id: number) => at((f) => f.request_id === id);
  const eventAt = (action: string, counter: number) =>
    at((f) => f.request_id === 'sub' && f.action === action && f.data.counter === counter);
  assert.ok(replyAt(1) < eventAt('create', 0), JSON.stringify(frames));
  assert.ok(replyAt(2) < eventAt('update', 1), JSON.stringify(frames));
  assert.ok(replyAt(3) < eventAt('update', 2), JSON.stringify(frames));
  assert.ok(replyAt(4) < eventAt('delete', 2), JSON.stringify(frames));
  const events = frames.filter((f) => f.request_id === 'sub').map((f) => [f.action, f.data.counter, f.response_status]);
  assert.deepEqual(events, [
    ['create', 0, 200],
    ['update', 1, 200],
    ['update', 2, 200],
    ['delete', 2, 204],
  ]);
  s.close();
});

test('transactions: a rollback sends nothing; three writes to one row send one event with the final state', async () => {
  const s = await open('/ws/things/');
  await s.request({ action: 'subscribe_many', request_id: 'sub' });
  await assert.rejects(
    Thing.transaction(async (trx) => {
      await Thing.query(trx).insert({ name: 'rolled back' });
      throw new Error('abort');
    }),
  );
  assert.ok(await s.quiet(), 'a rolled-back transaction sends nothing');

  const pk = await Thing.transaction(async (trx) => {
    const row = await Thing.query(trx).insert({ name: 'one' });
    await Thing.query(trx).patch({ counter: 1 }).findById(row.id);
    await Thing.query(trx).patch({ counter: 2, name: 'one+' }).findById(row.id);
    return row.id;
  });
  assert.deepEqual(await s.next(), reply('create', { pk, name: 'one+', counter: 2 }, 200, 'sub'));
  await Thing.transaction(async (trx) => {
    for (let counter = 3; counter <= 5; counter++) await Thing.query(trx).patch({ counter }).findById(pk);
  });
  assert.deepEqual(await s.next(), reply('update', { pk, name: 'one+', counter: 5 }, 200, 'sub'));
  assert.ok(await s.quiet(), 'one event per row and transaction');
  s.close();
});

test('bulk ORM writes: patch().where() over 100 rows is 100 events, delete().where() and insert([...]) too', async () => {
  const s = await open('/ws/things/');
  await Thing.knex()('things').insert(Array.from({ length: 100 }, (_, i) => ({ name: `bulk ${i}`, counter: 0 })));
  await s.request({ action: 'subscribe_many', request_id: 'sub' });
  const patched = await Thing.query()
    .patch({ counter: raw('counter + 1') as any })
    .where('name', 'like', 'bulk %');
  assert.equal(patched, 100);
  const updates = await take(s, 100);
  assert.ok(updates.every((f) => f.action === 'update' && f.response_status === 200 && f.data.counter === 1 && f.request_id === 'sub'));
  assert.equal(new Set(updates.map((f) => f.data.pk)).size, 100);

  const deleted = await Thing.query().delete().where('name', 'like', 'bulk %');
  assert.equal(deleted, 100);
  const deletes = await take(s, 100);
  assert.ok(deletes.every((f) => f.action === 'delete' && f.response_status === 204 && f.data.counter === 1 && /^bulk /.test(f.data.name)));
  assert.deepEqual(new Set(deletes.map((f) => f.data.pk)), new Set(updates.map((f) => f.data.pk)));

  const inserted = await Thing.query().insert([{ name: 'i1' }, { name: 'i2', counter: 2 }]);
  assert.deepEqual(await take(s, 2), [
    reply('create', { pk: inserted[0]!.id, name: 'i1', counter: 0 }, 200, 'sub'),
    reply('create', { pk: inserted[1]!.id, name: 'i2', counter: 2 }, 200, 'sub'),
  ]);
  assert.ok(await s.quiet());
  s.close();
});

test('a user who loses the permission gets no further events', async () => {
  const token = await app.token('mallory');
  const s = await open(`/ws/guarded_things/?token=${token}`);
  const other = await open(`/ws/guarded_things/?token=${await app.token('oscar')}`);
  const row = await Thing.query().insert({ name: 'watched' });
  for (const socket of [s, other]) {
    assert.equal((await socket.request({ action: 'subscribe_instance', pk: row.id, request_id: 'i' })).response_status, 201);
    assert.equal((await socket.request({ action: 'subscribe_many', request_id: 'm' })).response_status, 201);
  }
  await Thing.query().patch({ counter: 1 }).findById(row.id);
  assert.deepEqual((await take(s, 2)).map((f) => f.request_id).sort(), ['i', 'm']);
  assert.deepEqual((await take(other, 2)).map((f) => f.request_id).sort(), ['i', 'm']);

  revoked.add('mallory');
  try {
    await Thing.query().patch({ counter: 2 }).findById(row.id);
    await Thing.query().deleteById(row.id);
    assert.deepEqual((await take(other, 4)).map((f) => [f.request_id, f.action]).sort(), [
      ['i', 'delete'],
      ['i', 'update'],
      ['m', 'delete'],
      ['m', 'update'],
    ]);
    assert.ok(await s.quiet(), 'the revoked user hears nothing');
    assert.equal((await s.request({ action: 'list', request_id: 9 })).response_status, 403);
  } finally {
    revoked.delete('mallory');
  }
  s.close();
  other.close();
});

test('a disconnect drops every subscription of the socket (the hub holds no topic afterwards)', async () => {
  const hub = app.runtime.hub;
  const school = await School.query().insert({ name: 'sch' });
  const room = await Classroom.query().insert({ name: 'room', school: school.id });
  const thing = await Thing.query().insert({ name: 't' });
  const sockets: TestSocket[] = [];
  for (let i = 0; i < 3; i++) {
    const m = await open('/ws');
    sockets.push(m);
    const frames = [
      { stream: 'things', payload: { action: 'subscribe_instance', pk: thing.id, request_id: 1 } },
      { stream: 'things_with_id', payload: { action: 'subscribe_many', request_id: 2 } },
      { stream: 'tests', payload: { action: 'subscribe_activity', request_id: 3 } },
      { stream: 'classrooms', payload: { action: 'subscribe_to_classrooms_in_school', school_pk: school.id, request_id: 4 } },
      { stream: 'classrooms', payload: { action: 'subscribe_to_classroom', classroom_pk: room.id, request_id: 5 } },
      { stream: 'chat', payload: { action: 'subscribe_joined', chat_id: 'c', request_id: 6 } },
    ];
    for (const frame of frames) assert.equal((await m.request(frame)).payload.response_status, 201);
  }
  // A row's topic, the Thing, Test and Classroom model topics (both classroom groups ride the latter) and the chat's.
  assert.ok(hub.topicCount >= 5, `topics while subscribed: ${hub.topicCount}`);
  for (const socket of sockets) socket.close();
  assert.ok(await eventually(() => hub.topicCount === 0), `topics left after disconnect: ${hub.topicCount}`);
  // In-process, the hub knows nobody observes the model any more, so its writes read nothing extra.
  if (hub.isLocalEngine) assert.equal(hub.isObserved('Classroom'), false);
});

test('one serialization per message and group, however many sockets subscribe', async () => {
  const count = (serializer: { toRepresentation(row: any): unknown }) => {
    const original = serializer.toRepresentation;
    let calls = 0;
    serializer.toRepresentation = function (this: unknown, row: any) {
      calls++;
      return original.call(this, row);
    };
    return { calls: () => calls, restore: () => void (serializer.toRepresentation = original) };
  };
  const thing = await Thing.query().insert({ name: 'shared' });
  const school = await School.query().insert({ name: 's' });
  const room = await Classroom.query().insert({ name: 'r', school: school.id });
  const sockets: TestSocket[] = [];
  for (let i = 0; i < 6; i++) {
    const t = await open('/ws/things/');
    await t.request({ action: 'subscribe_many', request_id: i });
    await t.request({ action: 'subscribe_instance', pk: thing.id, request_id: `i${i}` });
    const c = await open('/ws/classrooms/');
    await c.request({ action: 'subscribe_to_classrooms_in_school', school_pk: school.id, request_id: i });
    sockets.push(t, c);
  }
  const things = count(serializerInstance(ThingSerializer));
  const classrooms = count(serializerInstance(ClassroomSerializer));
  try {
    await Thing.query().patch({ counter: 1 }).findById(thing.id);
    await Classroom.query().patch({ name: 'r2' }).findById(room.id);
    for (const socket of sockets) {
      const frames = await take(socket, socket.ws.url.includes('things') ? 2 : 1);
      assert.ok(frames.every((f) => f.action === 'update'));
    }
    assert.equal(things.calls(), 2, 'one body for the 6 subscribe_many frames, one for the 6 subscribe_instance frames');
    assert.equal(classrooms.calls(), 1, 'one body for the 6 sockets of the school group');
  } finally {
    things.restore();
    classrooms.restore();
  }
  for (const socket of sockets) socket.close();
});
