/**
 * The multiplexer, in-process: `{"stream", "payload"}` both ways, one consumer per stream made on first
 * use, streams refused by `canConnect`, and the multiplexer's own 400s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BasePermission, type ConnectionScope } from '../../src/index.js';
import { DcrfCommunicator } from '../../src/testing.js';
import { reply, SessionConsumer, testHooks } from '../helpers/dcrf-session.js';

class MembersOnly extends BasePermission {
  override canConnect(scope: ConnectionScope): boolean {
    return scope.user !== null;
  }
}

class MembersConsumer extends SessionConsumer {
  static override permissionClasses = [MembersOnly];
}

const streams = { a: SessionConsumer, b: SessionConsumer, members: MembersConsumer };

test('replies come back wrapped with their stream; each stream has a consumer of its own, opened on first use', async () => {
  const { log, scope } = testHooks();
  const c = await DcrfCommunicator.connect(streams, { scope: { ...scope, user: { id: 1 } } });
  assert.deepEqual(log, [], 'no consumer before its first frame');
  c.send({ stream: 'a', payload: { action: 'echo', data: 1, request_id: 1 } });
  assert.deepEqual(await c.receive(), { stream: 'a', payload: reply('echo', 1, 200, 1) });
  c.send({ stream: 'b', payload: { action: 'echo', data: 2, request_id: 2 } });
  assert.deepEqual(await c.receive(), { stream: 'b', payload: reply('echo', 2, 200, 2) });
  c.send({ stream: 'a', payload: { action: 'emit', count: 1, request_id: 3 } });
  assert.deepEqual(await c.receive(), { stream: 'a', payload: reply('emit', null, 200, 3) });
  assert.deepEqual(await c.receive(), { stream: 'a', payload: { action: 'event', data: 0 } }, 'events are wrapped too');
  assert.deepEqual(log, ['connect a', 'echo 1', 'connect b', 'echo 2']);
  await c.close();
  assert.deepEqual(log.slice(-2).sort(), ['disconnect a', 'disconnect b'], 'every opened stream is told');
});

test('a frame that is not {stream, payload}: 400 in a wrapper, with what could be read of it', async () => {
  const c = await DcrfCommunicator.connect(streams, testHooks());
  const shape = ['Invalid message: expected {"stream", "payload"}'];
  c.send({ action: 'echo', request_id: 1 });
  assert.deepEqual(await c.receive(), { stream: null, payload: reply(null, null, 400, null, shape) });
  c.send({ stream: 'a', payload: 'echo' });
  assert.deepEqual(await c.receive(), { stream: 'a', payload: reply(null, null, 400, null, shape) });
  c.send({ stream: 'a', payload: [1] });
  assert.deepEqual(await c.receive(), { stream: 'a', payload: reply(null, null, 400, null, shape) });
  c.send({ stream: 7, payload: { action: 'echo', request_id: 2 } });
  assert.deepEqual(await c.receive(), { stream: 7, payload: reply('echo', null, 400, 2, shape) });
  c.send('not json');
  const unreadable = await c.receive();
  assert.equal(unreadable.stream, null);
  assert.equal(unreadable.payload.response_status, 400);
  await c.close();
});

test('an unknown stream is 400 naming it; a stream whose canConnect refused is 403 per frame', async () => {
  const c = await DcrfCommunicator.connect(streams, testHooks());
  c.send({ stream: 'nope', payload: { action: 'echo', request_id: 1 } });
  assert.deepEqual(await c.receive(), { stream: 'nope', payload: reply('echo', null, 400, 1, ['Unknown stream "nope".']) });
  c.send({ stream: '__proto__', payload: { action: 'echo', request_id: 2 } });
  assert.deepEqual(await c.receive(), { stream: '__proto__', payload: reply('echo', null, 400, 2, ['Unknown stream "__proto__".']) });
  c.send({ stream: 'members', payload: { action: 'echo', request_id: 3 } });
  const denied = ['You do not have permission to perform this action.'];
  assert.deepEqual(await c.receive(), { stream: 'members', payload: reply('echo', null, 403, 3, denied) });
  c.send({ stream: 'a', payload: { action: 'echo', data: 'fine', request_id: 4 } });
  assert.deepEqual(await c.receive(), { stream: 'a', payload: reply('echo', 'fine', 200, 4) });
  await c.close();
});

test('a socket every stream refuses does not open; one stream refusing a single-stream socket neither', async () => {
  await assert.rejects(DcrfCommunicator.connect({ members: MembersConsumer }, testHooks()), /connection refused/);
  await assert.rejects(DcrfCommunicator.connect(MembersConsumer, testHooks()), /connection refused/);
});

test("every stream's consumer sees the socket's user; scope.stream is its own", async () => {
  const { log, scope } = testHooks();
  const c = await DcrfCommunicator.connect(streams, { scope: { ...scope, user: { id: 5, username: 'eve' } } });
  c.send({ stream: 'members', payload: { action: 'echo', data: 'member', request_id: 1 } });
  assert.deepEqual(await c.receive(), { stream: 'members', payload: reply('echo', 'member', 200, 1) });
  assert.deepEqual(log, ['connect members', 'echo "member"']);
  await c.close();
});
