/**
 * Group messages and disconnect cleanup, in-process: `groupSend` reaches declared group handlers of
 * the members in the same runtime only, and a closed socket leaves nothing behind (subscriptions,
 * group topics, detached actions) whichever side closed it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/runtime.js';
import type { SessionObserver } from '../../src/index.js';
import { DcrfCommunicator } from '../../src/testing.js';
import { reply, SessionConsumer, settle, testHooks } from '../helpers/dcrf-session.js';

test('groupSend calls the declared handler of every member; any other type is dropped and the socket stays open', async () => {
  const runtime = await Runtime.create();
  try {
    const member = await DcrfCommunicator.connect(SessionConsumer, { ...testHooks(), runtime });
    const sender = await DcrfCommunicator.connect(SessionConsumer, { ...testHooks(), runtime });
    member.send({ action: 'join', group: 'room', request_id: 1 });
    assert.deepEqual(await member.receive(), reply('join', null, 201, 1));
    for (const type of ['echo', 'close', 'receiveJson', 'join', 'constructor', 'toString', 'chat.message']) {
      sender.send({ action: 'tell', group: 'room', type, text: type, request_id: type });
      assert.deepEqual(await sender.receive(), reply('tell', null, 204, type));
    }
    assert.deepEqual(await member.receive(), { action: 'chat.message', data: 'chat.message' }, 'only the declared handler ran');
    await member.expectNothing();
    assert.equal(member.closeFrame, undefined);

    member.send({ action: 'leave', group: 'room', request_id: 2 });
    assert.deepEqual(await member.receive(), reply('leave', null, 204, 2));
    sender.send({ action: 'tell', group: 'room', type: 'chat.message', text: 'gone', request_id: 3 });
    assert.deepEqual(await sender.receive(), reply('tell', null, 204, 3));
    await member.expectNothing();
    await member.close();
    await sender.close();
  } finally {
    await runtime.close();
  }
});

test("a group of one runtime is not another's", async () => {
  const [one, two] = [await Runtime.create(), await Runtime.create()];
  try {
    const here = await DcrfCommunicator.connect(SessionConsumer, { ...testHooks(), runtime: one });
    const there = await DcrfCommunicator.connect(SessionConsumer, { ...testHooks(), runtime: two });
    for (const c of [here, there]) {
      c.send({ action: 'join', group: 'room', request_id: 1 });
      assert.equal((await c.receive()).response_status, 201);
    }
    here.send({ action: 'tell', group: 'room', type: 'chat.message', text: 'hi', request_id: 2 });
    assert.equal((await here.receive()).response_status, 204);
    assert.deepEqual(await here.receive(), { action: 'chat.message', data: 'hi' });
    await there.expectNothing();
    await here.close();
    await there.close();
  } finally {
    await one.close();
    await two.close();
  }
});

test('closing the socket drops its subscriptions and group topics, cancels detached actions, then runs onDisconnect', async () => {
  const runtime = await Runtime.create();
  try {
    const { log, scope } = testHooks();
    const c = await DcrfCommunicator.connect(SessionConsumer, { scope, runtime });
    const topicsBefore = runtime.hub.topicCount;
    c.send({ action: 'subscribe', name: 'a', request_id: 1 });
    c.send({ action: 'join', group: 'room', request_id: 2 });
    c.send({ action: 'background', request_id: 3 });
    assert.equal((await c.receive()).response_status, 201);
    assert.equal((await c.receive()).response_status, 201);
    assert.equal(runtime.hub.topicCount, topicsBefore + 1);
    await c.close();
    assert.deepEqual(log.slice(1), ['unsubscribed a', 'disconnect SessionConsumer', 'background aborted']);
    assert.equal(runtime.hub.topicCount, topicsBefore, 'the group topic is gone');
    await settle();
    await c.expectNothing();
  } finally {
    await runtime.close();
  }
});

test('a consumer that closes the socket: a reply sent before the close arrives, then the close; nothing after', async () => {
  const dropped: string[] = [];
  const observer: SessionObserver = { eventDropped: (reason) => dropped.push(reason) };
  const runtime = await Runtime.create();
  try {
    const { log, scope } = testHooks();
    const member = await DcrfCommunicator.connect(SessionConsumer, { scope, runtime, observer });
    const sender = await DcrfCommunicator.connect(SessionConsumer, { ...testHooks(), runtime });
    member.send({ action: 'join', group: 'room', request_id: 1 });
    assert.equal((await member.receive()).response_status, 201);
    member.send({ action: 'goodbye', request_id: 'g' });
    assert.deepEqual(await member.receive(), reply('goodbye', 'bye', 200, 'g'));
    assert.deepEqual(await member.waitClosed(), { code: 4000, reason: 'Goodbye' });
    await member.close();
    assert.deepEqual(log.slice(-1), ['disconnect SessionConsumer']);
    sender.send({ action: 'tell', group: 'room', type: 'chat.message', text: 'late', request_id: 2 });
    assert.equal((await sender.receive()).response_status, 204);
    await member.expectNothing();
    assert.deepEqual(dropped, [], 'the group subscription ended with the socket: nothing was even attempted');
    assert.throws(() => member.send({ action: 'echo' }), /the socket is closed \(4000 "Goodbye"\)/);
    await sender.close();
  } finally {
    await runtime.close();
  }
});
