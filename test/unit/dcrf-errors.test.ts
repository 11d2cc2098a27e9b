/**
 * Error replies of a DCRF socket, in-process: frames that cannot be read, actions that do not exist
 * or fail, and permissions; each answered in the five-key envelope, and the socket stays open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BasePermission, type ConnectionScope, type PermissionRequest } from '../../src/index.js';
import { DcrfCommunicator } from '../../src/testing.js';
import { reply, SessionConsumer, testHooks } from '../helpers/dcrf-session.js';

async function open(limits = {}) {
  return DcrfCommunicator.connect(SessionConsumer, { ...testHooks(), limits });
}

test('unreadable frames are 400 with action and request_id null', async () => {
  const c = await open({ maxDepth: 4 });
  c.send('{"action": ');
  const unparsable = await c.receive();
  assert.deepEqual({ ...unparsable, errors: [] }, reply(null, null, 400, null));
  assert.match(unparsable.errors[0], /^Invalid message: \S/, 'the parser says why, in short');
  const cases: Array<[() => void, string]> = [
    [() => c.send(''), 'Invalid message: empty frame'],
    [() => c.sendBinary(), 'Invalid message: binary frames are not accepted'],
    [() => c.send('[1, 2]'), 'Invalid message: expected a JSON object'],
    [() => c.send('"text"'), 'Invalid message: expected a JSON object'],
    [() => c.send(JSON.stringify({ action: 'echo', data: { a: { b: { c: { d: 1 } } } } })), 'Invalid message: nested too deeply'],
  ];
  for (const [send, error] of cases) {
    send();
    assert.deepEqual(await c.receive(), reply(null, null, 400, null, [error]));
  }
  c.send({ action: 'echo', data: { a: { b: 1 } }, request_id: 'ok' });
  assert.deepEqual(await c.receive(), reply('echo', { a: { b: 1 } }, 200, 'ok'), 'four levels are fine, and the socket is open');
  await c.close();
});

test('no action is 405 "Unable to find action in message body."; an unknown one names itself', async () => {
  const c = await open();
  c.send({ request_id: 1 });
  assert.deepEqual(await c.receive(), reply(null, null, 405, 1, ['Unable to find action in message body.']));
  c.send({ action: 'Echo', request_id: 2 });
  assert.deepEqual(await c.receive(), reply('Echo', null, 405, 2, ['Method "Echo" not allowed.']));
  c.send({ action: { not: 'a string' }, request_id: 3 });
  assert.deepEqual(await c.receive(), reply({ not: 'a string' }, null, 405, 3, ['Method "{"not":"a string"}" not allowed.']));
  await c.close();
});

test("an action's API error is its status and detail; any other error is 500 without its message", async () => {
  const c = await open();
  c.send({ action: 'missing', request_id: 1 });
  assert.deepEqual(await c.receive(), reply('missing', null, 404, 1, ['Not found']));
  c.send({ action: 'invalid', request_id: 2 });
  assert.deepEqual(await c.receive(), reply('invalid', null, 400, 2, [{ name: ['This field is required.'] }]));
  c.send({ action: 'fail', request_id: 3 });
  assert.deepEqual(await c.receive(), reply('fail', null, 500, 3, ['Internal server error']));
  c.send({ action: 'echo', data: 'still open', request_id: 4 });
  assert.deepEqual(await c.receive(), reply('echo', 'still open', 200, 4));
  await c.close();
});

test('request_id is echoed as sent, any JSON value; absent is null', async () => {
  const c = await open();
  for (const id of [7, 'seven', { n: 7 }, [7], null, true]) {
    c.send({ action: 'echo', data: 1, request_id: id });
    assert.deepEqual(await c.receive(), reply('echo', 1, 200, id));
  }
  c.send({ action: 'echo', data: 1 });
  assert.deepEqual(await c.receive(), reply('echo', 1, 200, null));
  await c.close();
});

class GuestsMayNotEcho extends BasePermission {
  override hasPermission(scope: ConnectionScope, request: PermissionRequest): boolean {
    return scope.user !== null || request.action !== 'echo';
  }
}

class GuardedConsumer extends SessionConsumer {
  static override permissionClasses = [GuestsMayNotEcho];
}

test('a refused permission is 403, asked before the unknown-action check', async () => {
  const c = await DcrfCommunicator.connect(GuardedConsumer, testHooks());
  c.send({ action: 'echo', data: 1, request_id: 1 });
  assert.deepEqual(await c.receive(), reply('echo', null, 403, 1, ['You do not have permission to perform this action.']));
  c.send({ action: 'held_not', request_id: 2 });
  assert.deepEqual(await c.receive(), reply('held_not', null, 405, 2, ['Method "held_not" not allowed.']));
  await c.close();
  const user = await DcrfCommunicator.connect(GuardedConsumer, { scope: { ...testHooks().scope, user: { id: 1 } } });
  user.send({ action: 'echo', data: 1, request_id: 1 });
  assert.deepEqual(await user.receive(), reply('echo', 1, 200, 1));
  await user.close();
});
