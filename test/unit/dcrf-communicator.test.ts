/**
 * `DcrfCommunicator` itself (`dcrf-gateway/testing`): what it says when a frame does not come or one
 * comes unexpected, and that it drives real consumers — the demo's, given a runtime on a database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDemoDatabase } from '../../src/demo/app.js';
import { demoStreams } from '../../src/demo/consumers.js';
import { Runtime } from '../../src/runtime.js';
import { DcrfCommunicator } from '../../src/testing.js';
import { reply, SessionConsumer, testHooks } from '../helpers/dcrf-session.js';

test('receive says why no frame came: a timeout, or a closed socket', async () => {
  const c = await DcrfCommunicator.connect(SessionConsumer, { ...testHooks(), timeoutMs: 20 });
  await assert.rejects(c.receive(), /no frame within 20 ms/);
  c.send({ action: 'goodbye', request_id: 1 });
  assert.deepEqual(await c.receive(), reply('goodbye', 'bye', 200, 1));
  await assert.rejects(c.receive(), /the socket closed \(4000 "Goodbye"\) with no frame left/);
  await c.close();
});

test('expectNothing rejects with the frame that came; receives do not overlap', async () => {
  const c = await DcrfCommunicator.connect(SessionConsumer, testHooks());
  c.send({ action: 'echo', data: 'surprise', request_id: 1 });
  await assert.rejects(c.expectNothing(), /expected no frame, got .*"surprise"/);
  const first = c.receive(20);
  await assert.rejects(c.receive(20), /one receive at a time/);
  await assert.rejects(first, /no frame within/);
  await c.close();
});

test('a string is sent as the frame text, as is', async () => {
  const c = await DcrfCommunicator.connect(SessionConsumer, testHooks());
  c.send('{"action": "echo", "data": "raw", "request_id": 1}');
  assert.equal(await c.receiveText(), '{"errors":[],"data":"raw","action":"echo","response_status":200,"request_id":1}');
  await c.close();
});

test("the demo's consumers, given a runtime on a database: CRUD and an instance subscription's events", async () => {
  const knex = await openDemoDatabase('sqlite::memory:');
  const runtime = await Runtime.create({ knex });
  try {
    const watcher = await DcrfCommunicator.connect(demoStreams, { runtime });
    const writer = await DcrfCommunicator.connect(demoStreams.things!, { runtime, stream: 'things' });
    writer.send({ action: 'create', data: { name: 'first' }, request_id: 1 });
    const created = await writer.receive();
    assert.equal(created.response_status, 201);
    const pk = created.data.pk;
    assert.deepEqual(created.data, { pk, name: 'first', counter: 0 });

    watcher.send({ stream: 'things', payload: { action: 'subscribe_instance', pk, request_id: 'w' } });
    const subscribed = await watcher.receive();
    assert.deepEqual([subscribed.stream, subscribed.payload.response_status, subscribed.payload.request_id], ['things', 201, 'w']);
    writer.send({ action: 'patch', pk, data: { name: 'second' }, request_id: 2 });
    assert.deepEqual(await writer.receive(), reply('patch', { pk, name: 'second', counter: 0 }, 200, 2));
    assert.deepEqual(await watcher.receive(), { stream: 'things', payload: reply('update', { pk, name: 'second', counter: 0 }, 200, 'w') });
    await watcher.close();
    await writer.close();
  } finally {
    await runtime.close();
    await knex.destroy();
  }
});

test('connect rejects with the error of a canConnect that throws', async () => {
  class Broken extends SessionConsumer {
    static override async canConnect(): Promise<boolean> {
      throw new Error('permission store down');
    }
  }
  await assert.rejects(DcrfCommunicator.connect(Broken, testHooks()), /permission store down/);
});
