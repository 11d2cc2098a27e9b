/**
 * The order of one DCRF socket, in-process: a frame's reply goes out before the next frame is
 * handled, events an action causes follow its reply, detached actions run beside later frames, and a
 * graceful drain waits for what was read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DcrfCommunicator } from '../../src/testing.js';
import { reply, SessionConsumer, settle, testHooks } from '../helpers/dcrf-session.js';

test('a reply goes out before the next frame is handled', async () => {
  const { gate, log, scope } = testHooks();
  const c = await DcrfCommunicator.connect(SessionConsumer, { scope });
  c.send({ action: 'held', request_id: 1 });
  c.send({ action: 'echo', data: 'next', request_id: 2 });
  await c.expectNothing(20);
  assert.deepEqual(log, ['connect SessionConsumer', 'held start'], 'the second frame waits for the first');
  gate.open();
  assert.deepEqual(await c.receive(), reply('held', 'held', 200, 1));
  assert.deepEqual(await c.receive(), reply('echo', 'next', 200, 2));
  assert.deepEqual(log.slice(1), ['held start', 'held end', 'echo "next"']);
  await c.close();
});

test('events sent while an action runs go out after its reply, in the order they were sent', async () => {
  const { scope } = testHooks();
  const c = await DcrfCommunicator.connect(SessionConsumer, { scope });
  c.send({ action: 'emit', count: 3, request_id: 'e' });
  assert.deepEqual(await c.receive(), reply('emit', null, 200, 'e'));
  for (let i = 0; i < 3; i++) assert.deepEqual(await c.receive(), { action: 'event', data: i });
  await c.expectNothing();
  await c.close();
});

test('events held behind a running action go out after its reply and before the next frame is answered', async () => {
  const { gate, scope } = testHooks();
  const c = await DcrfCommunicator.connect(SessionConsumer, { scope });
  c.send({ action: 'emit', count: 2, hold: true, request_id: 'h' });
  c.send({ action: 'echo', data: 'after', request_id: 'n' });
  await c.expectNothing(20);
  gate.open();
  assert.deepEqual(await c.receive(), reply('emit', null, 200, 'h'));
  assert.deepEqual(await c.receive(), { action: 'event', data: 0 });
  assert.deepEqual(await c.receive(), { action: 'event', data: 1 });
  assert.deepEqual(await c.receive(), reply('echo', 'after', 200, 'n'));
  await c.close();
});

test('an action that returns nothing sends no reply, and the next frame is answered', async () => {
  const c = await DcrfCommunicator.connect(SessionConsumer, testHooks());
  c.send({ action: 'silent', request_id: 1 });
  c.send({ action: 'echo', data: 2, request_id: 2 });
  assert.deepEqual(await c.receive(), reply('echo', 2, 200, 2));
  await c.expectNothing();
  await c.close();
});

test('a detached action runs beside later frames and replies when done', async () => {
  const { gate, scope } = testHooks();
  const c = await DcrfCommunicator.connect(SessionConsumer, { scope });
  c.send({ action: 'background', request_id: 'bg' });
  c.send({ action: 'echo', data: 'meanwhile', request_id: 'm' });
  assert.deepEqual(await c.receive(), reply('echo', 'meanwhile', 200, 'm'));
  gate.open();
  assert.deepEqual(await c.receive(), reply('background', 'done', 200, 'bg'));
  await c.close();
});

test('a drain resolves once the frame being handled has answered and no detached action runs', async () => {
  const { gate, scope } = testHooks();
  const c = await DcrfCommunicator.connect(SessionConsumer, { scope });
  c.send({ action: 'background', request_id: 'bg' });
  c.send({ action: 'held', request_id: 'h' });
  await settle();
  let drained = false;
  const drain = c.drain().then(() => (drained = true));
  assert.equal(c.serverPaused, true, 'a draining socket reads nothing more');
  await settle();
  assert.equal(drained, false);
  gate.open();
  await drain;
  assert.deepEqual(
    [await c.receive(), await c.receive()].sort((a, b) => String(a.request_id).localeCompare(String(b.request_id))),
    [reply('background', 'done', 200, 'bg'), reply('held', 'held', 200, 'h')],
  );
  await c.close();
});

test('an idle socket drains at once', async () => {
  const c = await DcrfCommunicator.connect(SessionConsumer, testHooks());
  await c.drain();
  await c.close();
});
