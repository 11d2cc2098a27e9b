/**
 * Live data on `tests` (subscribe_activity), `users` (authenticated subscribe_instance, written
 * through the ORM as another process would), `classrooms` (group-relative events) and `chat` (a custom
 * signal), as the frames recorded from DCRF captured them from real DCRF.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { User } from '../../src/demo/models.js';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

const open = (stream: string, token?: string) => TestSocket.open(`${app.wsUrl}/ws/${stream}/${token ? `?token=${token}` : ''}`);

test('tests: subscribe_activity sees create/update/delete (delete: 200, last state) next to subscribe_instance', async () => {
  const [t1, t2] = [await open('tests'), await open('tests')];
  assert.deepEqual(await t1.request({ action: 'subscribe_activity', request_id: 2 }), reply('subscribe_activity', null, 201, 2));
  const created = await t2.request({ action: 'create', data: { name: 't1' }, request_id: 1 });
  const id = created.data.id;
  assert.deepEqual(created, reply('create', { id, name: 't1' }, 201, 1));
  assert.deepEqual(await t1.next(), reply('create', { id, name: 't1' }, 200, 2));

  assert.deepEqual(await t1.request({ action: 'subscribe_instance', pk: id, request_id: 4 }), reply('subscribe_instance', null, 201, 4));
  await t2.request({ action: 'update', pk: id, data: { name: 't1b' }, request_id: 2 });
  const both = [await t1.next(), await t1.next()].sort((l, r) => l.request_id - r.request_id);
  assert.deepEqual(both, [reply('update', { id, name: 't1b' }, 200, 2), reply('update', { id, name: 't1b' }, 200, 4)]);

  const refused = await t2.request({ action: 'patch', pk: id, data: { name: 'y'.repeat(101) }, request_id: 3 });
  assert.equal(refused.response_status, 400);
  assert.ok(await t1.quiet(), 'a refused write sends nothing');

  assert.deepEqual(
    await t1.request({ action: 'unsubscribe_instance', pk: id, request_id: 4 }),
    reply('unsubscribe_instance', null, 204, 4),
  );
  await t2.request({ action: 'delete', pk: id, request_id: 5 });
  assert.deepEqual(await t1.next(), reply('delete', { id, name: 't1b' }, 200, 2));
  assert.deepEqual(await t1.request({ action: 'unsubscribe_activity', request_id: 2 }), reply('unsubscribe_activity', null, 204, 2));
  await t2.request({ action: 'create', data: { name: 't2' }, request_id: 6 });
  assert.ok(await t1.quiet(), 'nothing after unsubscribe_activity');
  t1.close();
  t2.close();
});

test('users: an authenticated subscribe_instance sees an ORM write made outside any socket', async () => {
  const token = await app.token('alice');
  const u = await open('users', token);
  const me = (await u.request({ action: 'me', request_id: 8 })).data;
  assert.deepEqual(
    await u.request({ action: 'subscribe_instance', pk: me.id, request_id: 13 }),
    reply('subscribe_instance', null, 201, 13),
  );
  await User.query().patch({ email: 'alice+1@example.com' }).findById(me.id);
  assert.deepEqual(await u.next(), reply('update', { id: me.id, username: 'alice', email: 'alice+1@example.com' }, 200, 13));
  assert.deepEqual(
    await u.request({ action: 'unsubscribe_instance', pk: me.id, request_id: 13 }),
    reply('unsubscribe_instance', null, 204, 13),
  );
  await User.query().patch({ email: 'alice@example.com' }).findById(me.id);
  assert.ok(await u.quiet(), 'nothing after unsubscribe_instance');

  const anonymous = await open('users');
  assert.deepEqual(
    await anonymous.request({ action: 'subscribe_instance', pk: me.id, request_id: 1 }),
    reply('subscribe_instance', null, 403, 1, ['You do not have permission to perform this action.']),
  );
  u.close();
  anonymous.close();
});

test('classrooms: a classroom moving school 1 → 2 is delete / create / update by subscription', async () => {
  const k = await open('classrooms');
  const schools = await open('schools');
  const s1 = (await schools.request({ action: 'create', data: { name: 'school 1' }, request_id: 1 })).data.id;
  const s2 = (await schools.request({ action: 'create', data: { name: 'school 2' }, request_id: 2 })).data.id;
  const [k1, k2, k3] = [await open('classrooms'), await open('classrooms'), await open('classrooms')];
  assert.deepEqual(
    await k1.request({ action: 'subscribe_to_classrooms_in_school', school_pk: s1, request_id: 11 }),
    reply('subscribe_to_classrooms_in_school', null, 201, 11),
  );
  assert.deepEqual(
    await k2.request({ action: 'subscribe_to_classrooms_in_school', school_pk: s2, request_id: 12 }),
    reply('subscribe_to_classrooms_in_school', null, 201, 12),
  );
  const room = (await k.request({ action: 'create', data: { name: 'room A', school: s1 }, request_id: 1 })).data;
  const id = room.id;
  assert.deepEqual(await k1.next(), reply('create', { id, name: 'room A', school: s1 }, 200, 11));
  assert.deepEqual(
    await k3.request({ action: 'subscribe_to_classroom', classroom_pk: id, request_id: 13 }),
    reply('subscribe_to_classroom', null, 201, 13),
  );

  await k.request({ action: 'patch', pk: id, data: { name: 'room A1' }, request_id: 7 });
  assert.deepEqual(await k1.next(), reply('update', { id, name: 'room A1', school: s1 }, 200, 11));
  assert.deepEqual(await k3.next(), reply('update', { id, name: 'room A1', school: s1 }, 200, 13));
  assert.ok(await k2.quiet(), 'school 2 is not told about school 1');

  await k.request({ action: 'patch', pk: id, data: { school: s2 }, request_id: 8 });
  const moved = { id, name: 'room A1', school: s2 };
  assert.deepEqual(await k1.next(), reply('delete', moved, 200, 11), 'school 1 sees it leave, with the new school');
  assert.deepEqual(await k2.next(), reply('create', moved, 200, 12), 'school 2 sees it arrive');
  assert.deepEqual(await k3.next(), reply('update', moved, 200, 13), 'the classroom subscriber sees an update');

  assert.deepEqual(
    await k1.request({ action: 'unsubscribe_from_classrooms_in_school', school_pk: s1, request_id: 11 }),
    reply('unsubscribe_from_classrooms_in_school', null, 204, 11),
  );
  assert.deepEqual(
    await k3.request({ action: 'unsubscribe_from_classroom', classroom_pk: id, request_id: 13 }),
    reply('unsubscribe_from_classroom', null, 204, 13),
  );
  await k.request({ action: 'delete', pk: id, request_id: 10 });
  assert.deepEqual(await k2.next(), reply('delete', moved, 200, 12));
  assert.ok((await k1.quiet()) && (await k3.quiet()), 'unsubscribed sockets hear nothing');
  for (const socket of [k, k1, k2, k3, schools]) socket.close();
});

test('chat: join_chat reaches subscribe_joined at once; chat_id keeps its JSON type; anonymous is "anonymous"', async () => {
  const token = await app.token('alice');
  const [h1, h2] = [await open('chat'), await open('chat', token)];
  assert.deepEqual(
    await h1.request({ action: 'subscribe_joined', chat_id: 'room1', request_id: 1 }),
    reply('subscribe_joined', null, 201, 1),
  );
  assert.deepEqual(await h2.request({ action: 'join_chat', chat_id: 'room1', request_id: 1 }), reply('join_chat', null, 204, 1));
  assert.deepEqual(await h1.next(), reply('joined_chat', { username: 'alice', chat_id: 'room1' }, 200, 1));

  h1.send({ action: 'join_chat', chat_id: 'room1', request_id: 2 });
  assert.deepEqual(await h1.next(), reply('join_chat', null, 204, 2), 'the reply first');
  assert.deepEqual(await h1.next(), reply('joined_chat', { username: 'anonymous', chat_id: 'room1' }, 200, 1));

  await h2.request({ action: 'join_chat', chat_id: 'room2', request_id: 2 });
  assert.ok(await h1.quiet(), 'another chat: nothing');

  assert.deepEqual(await h1.request({ action: 'subscribe_joined', chat_id: 7, request_id: 3 }), reply('subscribe_joined', null, 201, 3));
  await h2.request({ action: 'join_chat', chat_id: 7, request_id: 3 });
  assert.deepEqual(await h1.next(), reply('joined_chat', { username: 'alice', chat_id: 7 }, 200, 3));

  assert.deepEqual(
    await h1.request({ action: 'unsubscribe_joined', chat_id: 'room1', request_id: 1 }),
    reply('unsubscribe_joined', null, 204, 1),
  );
  await h2.request({ action: 'join_chat', chat_id: 'room1', request_id: 4 });
  assert.ok(await h1.quiet(), 'nothing after unsubscribe_joined');
  h1.close();
  h2.close();
});
