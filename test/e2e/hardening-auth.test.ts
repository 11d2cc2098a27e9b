/**
 * Authentication after connect and authorization of events: a DCRF socket whose user is deactivated
 * or deleted gets no further event (and is closed 1008); a user refused by an object-level permission
 * gets no event of a row it may not see through an instance subscription; tokens never reach the logs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { captureLogs, metric, scrape, upgradeStatus } from '../helpers/hardening.js';
import { demoStreams } from '../../src/demo/consumers.js';
import { Thing } from '../../src/demo/models.js';
import { ThingSerializer } from '../../src/demo/serializers.js';
import type { ConsumerClass } from '../../src/dcrf/consumer.js';
import { GenericAsyncAPIConsumer } from '../../src/dcrf/generic.js';
import { PatchModelMixin, RetrieveModelMixin } from '../../src/dcrf/mixins.js';
import { ObserverModelInstanceMixin } from '../../src/dcrf/observers.js';
import { BasePermission, type PermissionRequest } from '../../src/permissions.js';
import type { ConnectionScope } from '../../src/scope.js';

/** Rows named `secret:<username>...` are visible to that user only; every other row to anyone. */
class SecretRowsOwnerOnly extends BasePermission {
  override hasPermission(scope: ConnectionScope, request: PermissionRequest): boolean {
    const name = request.object?.name;
    if (typeof name !== 'string' || !name.startsWith('secret:')) return true;
    return name.startsWith(`secret:${scope.user?.username ?? ''}`);
  }
}

class PrivateThingConsumer extends ObserverModelInstanceMixin(PatchModelMixin(RetrieveModelMixin(GenericAsyncAPIConsumer))) {
  static override permissionClasses = [SecretRowsOwnerOnly];
  static override queryset = Thing;
  static override serializerClass = ThingSerializer;
}

/** A permission whose canConnect is broken on /ws/broken/: the upgrade fails inside the gateway (and is logged). */
class BrokenConnect extends BasePermission {
  override canConnect(scope: ConnectionScope): boolean {
    if (scope.path.startsWith('/ws/broken')) throw new Error('canConnect exploded');
    return true;
  }
}
class BrokenConsumer extends RetrieveModelMixin(GenericAsyncAPIConsumer) {
  static override permissionClasses = [BrokenConnect];
  static override queryset = Thing;
  static override serializerClass = ThingSerializer;
}

let app: TestApp;
before(async () => {
  app = await startTestApp({
    // 0: re-read the user for every event and frame, so the tests need not wait out a cache.
    gateway: {
      userRecheckMs: 0,
      streams: {
        ...demoStreams,
        private_things: PrivateThingConsumer as unknown as ConsumerClass,
        broken: BrokenConsumer as unknown as ConsumerClass,
      },
    },
  });
});
after(async () => {
  await app.close();
});

async function subscribedThing(socket: TestSocket, name: string, multiplexed = false): Promise<{ pk: number }> {
  const writer = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const row = (await writer.request({ action: 'create', data: { name }, request_id: 'c' })).data;
  writer.close();
  const subscribed = await socket.request(
    multiplexed
      ? { stream: 'things', payload: { action: 'subscribe_instance', pk: row.pk, request_id: 'sub' } }
      : { action: 'subscribe_instance', pk: row.pk, request_id: 'sub' },
  );
  assert.equal(subscribed.response_status ?? subscribed.payload.response_status, 201);
  return row;
}

async function patchThing(pk: number, data: Record<string, unknown>): Promise<void> {
  const writer = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  assert.equal((await writer.request({ action: 'patch', pk, data, request_id: 'p' })).response_status, 200);
  writer.close();
}

test('a deactivated user gets no further event: the socket is closed 1008 and the token refused', async () => {
  const token = await app.token('mallory');
  const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`, { headers: { Authorization: `Bearer ${token}` } });
  const row = await subscribedThing(socket, 'watched');
  await patchThing(row.pk, { counter: 1 });
  assert.deepEqual(await socket.next(), reply('update', { pk: row.pk, name: 'watched', counter: 1 }, 200, 'sub'));

  await app.knex('users').where({ username: 'mallory' }).update({ is_active: false });
  await patchThing(row.pk, { counter: 2 });
  assert.equal(await socket.closed, 1008);
  assert.equal(await socket.quiet(0), true, 'no event after deactivation');
  assert.equal(await upgradeStatus(`${app.wsUrl}/ws/things/?token=${token}`), 401);
  assert.ok(metric(await scrape(app.url), 'dcrf_gateway_events_dropped_total', { reason: 'user_inactive' }) >= 1);
});

test('a deleted user on a multiplexed socket gets no further event, and its next frame is not answered', async () => {
  const token = await app.token('trudy');
  const socket = await TestSocket.open(`${app.wsUrl}/ws?token=${token}`);
  const row = await subscribedThing(socket, 'watched by trudy', true);
  const me = await socket.request({ stream: 'users', payload: { action: 'me', request_id: 'me' } });
  assert.equal(me.payload.data.username, 'trudy');

  await app
    .knex('tokens')
    .whereIn('user_id', app.knex('users').select('id').where({ username: 'trudy' }))
    .delete();
  await app.knex('users').where({ username: 'trudy' }).delete();
  socket.send({ stream: 'users', payload: { action: 'me', request_id: 'me-again' } });
  await patchThing(row.pk, { counter: 3 });
  assert.equal(await socket.closed, 1008);
  assert.equal(await socket.quiet(0), true, 'neither the reply nor the event was sent');
});

test('an active user keeps receiving: the re-check does not cut off a valid socket', async () => {
  const token = await app.token('alice');
  const socket = await TestSocket.open(`${app.wsUrl}/ws/things/?token=${token}`);
  const row = await subscribedThing(socket, 'alice watches');
  for (let i = 1; i <= 3; i++) {
    await patchThing(row.pk, { counter: i });
    assert.deepEqual(await socket.next(), reply('update', { pk: row.pk, name: 'alice watches', counter: i }, 200, 'sub'));
  }
  assert.equal(socket.closeCode, undefined);
  socket.close();
});

test('a user refused by the object-level permission gets no event of a private row through an instance subscription', async () => {
  const [aliceToken, eveToken] = await Promise.all([app.token('alice'), app.token('eve')]);
  const alice = await TestSocket.open(`${app.wsUrl}/ws/private_things/?token=${aliceToken}`);
  const eve = await TestSocket.open(`${app.wsUrl}/ws/private_things/?token=${eveToken}`);
  const row = (
    await alice.request({
      action: 'retrieve',
      pk: (await subscribedThing(await TestSocket.open(`${app.wsUrl}/ws/things/`), 'public')).pk,
      request_id: 'r',
    })
  ).data;
  for (const socket of [alice, eve])
    assert.equal((await socket.request({ action: 'subscribe_instance', pk: row.pk, request_id: 'sub' })).response_status, 201);

  await patchThing(row.pk, { name: 'secret:alice diary' });
  assert.deepEqual(await alice.next(), reply('update', { pk: row.pk, name: 'secret:alice diary', counter: 0 }, 200, 'sub'));
  await patchThing(row.pk, { name: 'secret:alice diary, page 2' });
  assert.deepEqual(await alice.next(), reply('update', { pk: row.pk, name: 'secret:alice diary, page 2', counter: 0 }, 200, 'sub'));
  await patchThing(row.pk, { name: 'public again' });
  assert.deepEqual(await alice.next(), reply('update', { pk: row.pk, name: 'public again', counter: 0 }, 200, 'sub'));
  // Eve's subscription is live (she gets the public state) but she never saw the secret ones.
  assert.deepEqual(await eve.next(), reply('update', { pk: row.pk, name: 'public again', counter: 0 }, 200, 'sub'));
  assert.equal(await eve.quiet(100), true);
  alice.close();
  eve.close();
});

test('tokens never reach the logs, even when the upgrade that carried one fails inside the gateway', async () => {
  const token = await app.token('logged');
  const logs = captureLogs('debug');
  try {
    assert.equal(await upgradeStatus(`${app.wsUrl}/ws/broken/?token=${token}&x=1`), 500);
    assert.equal(await upgradeStatus(`${app.wsUrl}/ws/broken/`, { Authorization: `Bearer ${token}`, Cookie: `token=${token}` }), 500);
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/?token=${token}`);
    await socket.request({ action: 'nope', request_id: 1 });
    socket.close();
    // The token lookup itself fails: database errors quote the query with its bound values.
    await app.knex.schema.renameTable('tokens', 'tokens_away');
    try {
      assert.equal(await upgradeStatus(`${app.wsUrl}/ws/things/`, { Authorization: `Bearer ${token}` }), 500);
    } finally {
      await app.knex.schema.renameTable('tokens_away', 'tokens');
    }
  } finally {
    logs.stop();
  }
  const failures = logs.lines.filter((line) => line.msg === 'upgrade failed');
  assert.equal(failures.length, 3, JSON.stringify(logs.lines));
  assert.match(String(failures[2]!.error), /tokens/, 'the database error is logged');
  assert.equal(failures[0]!.url, '/ws/broken/?token=***&x=1');
  for (const line of logs.raw) assert.ok(!line.includes(token), `a log line holds the token: ${line}`);
});
