/**
 * The per-socket limits of a DCRF session, in-process, with small settings: the frame rate, key
 * length, detached actions, subscriptions and their bytes, the queue of unread frames, the output
 * bound, and the re-check of the socket's user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthUser, SessionObserver, UserCheckAnswer } from '../../src/index.js';
import { DcrfCommunicator } from '../../src/testing.js';
import { reply, SessionConsumer, settle, testHooks } from '../helpers/dcrf-session.js';

/** An observer that lists the limits hit, the drops and the closes as slow consumer. */
function counters() {
  const seen: string[] = [];
  const observer: SessionObserver = {
    limitHit: (limit) => seen.push(`limit ${limit}`),
    eventDropped: (reason) => seen.push(`dropped ${reason}`),
    slowConsumerClosed: () => seen.push('slow consumer'),
    throttled: () => seen.push('throttled'),
  };
  return { seen, observer };
}

const THROTTLED = ['Request was throttled.'];

test('frames past the burst are 429 with their action and request id, and the socket stays open', async () => {
  const { seen, observer } = counters();
  const c = await DcrfCommunicator.connect(SessionConsumer, { ...testHooks(), observer, limits: { ratePerSecond: 0.001, rateBurst: 2 } });
  for (let i = 0; i < 4; i++) c.send({ action: 'echo', data: i, request_id: i });
  assert.deepEqual(await c.receive(), reply('echo', 0, 200, 0));
  assert.deepEqual(await c.receive(), reply('echo', 1, 200, 1));
  assert.deepEqual(await c.receive(), reply('echo', null, 429, 2, THROTTLED));
  assert.deepEqual(await c.receive(), reply('echo', null, 429, 3, THROTTLED));
  c.send('not json');
  assert.deepEqual(await c.receive(), reply(null, null, 429, null, THROTTLED), 'an unreadable frame over the rate is 429 too');
  assert.equal(c.closeFrame, undefined);
  assert.deepEqual(seen, ['throttled', 'throttled', 'throttled']);
  await c.close();
});

test('over the rate on the multiplexer: 429 inside the stream the frame named', async () => {
  const c = await DcrfCommunicator.connect({ s: SessionConsumer }, { ...testHooks(), limits: { ratePerSecond: 0.001, rateBurst: 1 } });
  c.send({ stream: 's', payload: { action: 'echo', data: 0, request_id: 0 } });
  c.send({ stream: 's', payload: { action: 'echo', data: 1, request_id: 1 } });
  assert.deepEqual(await c.receive(), { stream: 's', payload: reply('echo', 0, 200, 0) });
  assert.deepEqual(await c.receive(), { stream: 's', payload: reply('echo', null, 429, 1, THROTTLED) });
  await c.close();
});

test('excess that lasts past throttleCloseMs closes the socket 1008', async () => {
  const { seen, observer } = counters();
  const limits = { ratePerSecond: 0.001, rateBurst: 1, throttleCloseMs: 10 };
  const c = await DcrfCommunicator.connect(SessionConsumer, { ...testHooks(), observer, limits });
  c.send({ action: 'echo', data: 0, request_id: 0 });
  c.send({ action: 'echo', data: 1, request_id: 1 });
  assert.deepEqual(await c.receive(), reply('echo', 0, 200, 0));
  assert.deepEqual(await c.receive(), reply('echo', null, 429, 1, THROTTLED));
  await new Promise((resolve) => setTimeout(resolve, 20));
  c.send({ action: 'echo', data: 2, request_id: 2 });
  assert.deepEqual(await c.waitClosed(), { code: 1008, reason: 'Rate limit exceeded' });
  await assert.rejects(c.receive(), /the socket closed \(1008 "Rate limit exceeded"\) with no frame left/);
  assert.deepEqual(seen, ['throttled', 'throttled', 'limit rate_close']);
  await c.close();
});

test('a client-chosen key past maxKeyBytes is a 400 field error; at the limit it is kept', async () => {
  const { seen, observer } = counters();
  const c = await DcrfCommunicator.connect(SessionConsumer, { ...testHooks(), observer, limits: { maxKeyBytes: 8 } });
  c.send({ action: 'keep', pk: '123456', request_id: 1 });
  assert.deepEqual(await c.receive(), reply('keep', null, 200, 1), '"123456" is 8 bytes of JSON');
  c.send({ action: 'keep', pk: '1234567', request_id: 2 });
  assert.deepEqual(await c.receive(), reply('keep', null, 400, 2, [{ pk: ['Ensure this field has no more than 8 characters.'] }]));
  c.send({ action: 'keep', pk: 'éééé', request_id: 3 });
  assert.equal((await c.receive()).response_status, 400, 'bytes, not characters: 6 characters of JSON, 10 bytes');
  assert.deepEqual(seen, ['limit key_length', 'limit key_length']);
  await c.close();
});

test('detached actions past maxDetachedActions are 429; a finished one frees its slot', async () => {
  const { seen, observer } = counters();
  const { gate, scope } = testHooks();
  const c = await DcrfCommunicator.connect(SessionConsumer, { scope, observer, limits: { maxDetachedActions: 2 } });
  for (let i = 0; i < 3; i++) c.send({ action: 'background', request_id: i });
  assert.deepEqual(await c.receive(), reply('background', null, 429, 2, THROTTLED));
  gate.open();
  const done = [await c.receive(), await c.receive()].map((frame) => frame.request_id).sort();
  assert.deepEqual(done, [0, 1]);
  c.send({ action: 'background', request_id: 'again' });
  assert.deepEqual(await c.receive(), reply('background', 'done', 200, 'again'));
  assert.deepEqual(seen, ['limit detached_actions']);
  await c.close();
});

test('subscriptions past maxSubscriptions, or keeping more than maxRetainedBytes, are 429; an unsubscribe frees both', async () => {
  const { seen, observer } = counters();
  const c = await DcrfCommunicator.connect(SessionConsumer, {
    ...testHooks(),
    observer,
    limits: { maxSubscriptions: 2, maxRetainedBytes: 100 },
  });
  c.send({ action: 'subscribe', name: 'a', bytes: 60, request_id: 1 });
  assert.deepEqual(await c.receive(), reply('subscribe', null, 201, 1));
  c.send({ action: 'subscribe', name: 'b', bytes: 60, request_id: 2 });
  assert.deepEqual(await c.receive(), reply('subscribe', null, 429, 2, ['Too many subscriptions.']), '120 bytes kept');
  c.send({ action: 'subscribe', name: 'b', bytes: 40, request_id: 3 });
  assert.deepEqual(await c.receive(), reply('subscribe', null, 201, 3));
  c.send({ action: 'subscribe', name: 'c', request_id: 4 });
  assert.deepEqual(await c.receive(), reply('subscribe', null, 429, 4, ['Too many subscriptions.']), 'three subscriptions');
  c.send({ action: 'unsubscribe', name: 'a', request_id: 5 });
  assert.deepEqual(await c.receive(), reply('unsubscribe', null, 204, 5));
  c.send({ action: 'subscribe', name: 'c', bytes: 60, request_id: 6 });
  assert.deepEqual(await c.receive(), reply('subscribe', null, 201, 6));
  assert.deepEqual(seen, ['limit retained_bytes', 'limit subscriptions']);
  await c.close();
});

test('frames queued behind a running action pause the reading past maxRetainedBytes; all are answered in order', async () => {
  const { seen, observer } = counters();
  const { gate, scope } = testHooks();
  const c = await DcrfCommunicator.connect(SessionConsumer, { scope, observer, limits: { maxRetainedBytes: 1200 } });
  c.send({ action: 'held', request_id: 'h' });
  const pad = 'p'.repeat(300);
  for (let i = 0; i < 3; i++) c.send({ action: 'echo', data: i, pad, request_id: i });
  assert.equal(c.serverPaused, false, 'about 1070 characters queued: not past the bound yet');
  c.send({ action: 'echo', data: 3, pad, request_id: 3 });
  assert.equal(c.serverPaused, true);
  c.send({ action: 'echo', data: 4, request_id: 4 });
  assert.deepEqual(seen, ['limit inbound_queue']);
  gate.open();
  assert.deepEqual(await c.receive(), reply('held', 'held', 200, 'h'));
  for (let i = 0; i < 5; i++) assert.deepEqual(await c.receive(), reply('echo', i, 200, i));
  assert.equal(c.serverPaused, false, 'reading resumes once the queue is down to half');
  await c.close();
});

test('more than 256 frames queued pause the reading, whatever their size', async () => {
  const { gate, scope } = testHooks();
  const c = await DcrfCommunicator.connect(SessionConsumer, { scope });
  c.send({ action: 'held', request_id: 'h' });
  for (let i = 0; i < 255; i++) c.send({ action: 'echo', data: i, request_id: i });
  assert.equal(c.serverPaused, false);
  c.send({ action: 'echo', data: 255, request_id: 255 });
  assert.equal(c.serverPaused, true);
  gate.open();
  assert.equal((await c.receive()).request_id, 'h');
  for (let i = 0; i < 256; i++) assert.equal((await c.receive()).request_id, i);
  await c.close();
});

test('a client that stops reading is closed 1013 once its unsent output passes maxBufferedBytes', async () => {
  const { seen, observer } = counters();
  const c = await DcrfCommunicator.connect(SessionConsumer, { ...testHooks(), observer, limits: { maxBufferedBytes: 4096 } });
  c.stopReading();
  c.send({ action: 'emit', count: 3, size: 1000, request_id: 1 });
  await settle();
  assert.equal(c.closeFrame, undefined, 'about 3 KiB unsent');
  c.send({ action: 'emit', count: 3, size: 1000, request_id: 2 });
  assert.deepEqual(await c.waitClosed(), { code: 1013, reason: 'Slow consumer' });
  assert.deepEqual(seen.slice(0, 2), ['slow consumer', 'dropped slow_consumer']);
  assert.deepEqual(new Set(seen.slice(2)), new Set(['dropped socket_closed']), 'the events after the close are dropped');
  await c.close();
});

test('events held behind a running action count against the output bound', async () => {
  const { seen, observer } = counters();
  const { gate, scope } = testHooks();
  const c = await DcrfCommunicator.connect(SessionConsumer, { scope, observer, limits: { maxBufferedBytes: 4096 } });
  c.send({ action: 'emit', count: 8, size: 1000, hold: true, request_id: 1 });
  assert.deepEqual(await c.waitClosed(), { code: 1013, reason: 'Slow consumer' });
  gate.open();
  await c.expectNothing();
  assert.deepEqual(seen.slice(0, 2), ['slow consumer', 'dropped slow_consumer']);
  assert.deepEqual(new Set(seen.slice(2)), new Set(['dropped socket_closed']));
  await c.close();
});

test('a user deleted since the upgrade: the next frame closes the socket 1008, with no reply', async () => {
  let active = true;
  const user: AuthUser = { id: 1 };
  const c = await DcrfCommunicator.connect(SessionConsumer, {
    ...testHooks(),
    scope: { ...testHooks().scope, user },
    userCheck: () => active,
  });
  c.send({ action: 'echo', data: 1, request_id: 1 });
  assert.deepEqual(await c.receive(), reply('echo', 1, 200, 1));
  active = false;
  c.send({ action: 'echo', data: 2, request_id: 2 });
  assert.deepEqual(await c.waitClosed(), { code: 1008, reason: 'User is no longer active' });
  await c.expectNothing();
  await c.close();
});

test('events wait for a pending user re-check, in order; a user gone meanwhile gets none of them', async () => {
  const { seen, observer } = counters();
  const answers: Array<(active: boolean) => void> = [];
  const { scope } = testHooks();
  const userCheck = () => new Promise<boolean>((resolve) => answers.push(resolve));
  const c = await DcrfCommunicator.connect(SessionConsumer, { scope: { ...scope, user: { id: 1 } }, observer, userCheck });
  c.send({ action: 'emit', count: 2, request_id: 1 });
  await settle();
  assert.equal(answers.length, 1, 'the frame waits for the re-check');
  answers[0]!(true);
  assert.deepEqual(await c.receive(), reply('emit', null, 200, 1));
  assert.equal(answers.length, 2, 'the events asked once, and wait together');
  await c.expectNothing(10);
  answers[1]!(true);
  assert.deepEqual(await c.receive(), { action: 'event', data: 0 });
  assert.deepEqual(await c.receive(), { action: 'event', data: 1 });

  c.send({ action: 'emit', count: 2, request_id: 2 });
  await settle();
  answers[2]!(true);
  assert.deepEqual(await c.receive(), reply('emit', null, 200, 2));
  answers[3]!(false);
  assert.deepEqual(await c.waitClosed(), { code: 1008, reason: 'User is no longer active' });
  await c.expectNothing();
  assert.deepEqual(seen, ['dropped user_inactive', 'dropped user_inactive']);
  await c.close();
});

test("the re-read user becomes the socket's user, on every stream's consumer", async () => {
  const guest: AuthUser = { id: 1, role: 'guest' };
  const promoted: AuthUser = { id: 1, role: 'admin' };
  // The third check re-reads the user; every other one says "still active".
  const answers: UserCheckAnswer[] = [true, true, promoted];
  const { scope } = testHooks();
  const c = await DcrfCommunicator.connect(
    { a: SessionConsumer, b: SessionConsumer },
    { scope: { ...scope, user: guest }, userCheck: () => answers.shift() ?? true },
  );
  const whoami = async (stream: string, id: number) => {
    c.send({ stream, payload: { action: 'whoami', request_id: id } });
    return (await c.receive()).payload.data;
  };
  assert.deepEqual([await whoami('a', 1), await whoami('b', 2)], [guest, guest]);
  assert.deepEqual([await whoami('a', 3), await whoami('b', 4)], [promoted, promoted], "b's consumer got the user a's frame re-read");
  await c.close();
});
