/**
 * Once a client has sent its close frame, the server sends its own close frame and no event after it,
 * on DCRF and GraphQL alike (events written into the socket's stream as whole frames included),
 * while the socket stays open at the TCP level. A hand-made client reads every frame the server sends.
 * (A close the server starts is in test/unit/text-frames.test.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { eventually } from '../helpers/hardening.js';
import { CLOSE_1000, framesAfterClose, RawClient } from '../helpers/raw-ws-client.js';

let app: TestApp;
let writer: TestSocket;
let watcher: TestSocket;
let pk: number;
let counter = 0;
before(async () => {
  app = await startTestApp();
  writer = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  pk = (await writer.request({ action: 'create', data: { name: 'closing' }, request_id: 'c' })).data.pk;
  // A subscriber that stays: it shows each patch below did send events.
  watcher = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  await watcher.request({ action: 'subscribe_instance', pk, request_id: 'w' });
});
after(async () => {
  writer.close();
  watcher.close();
  await app.close();
});

/** Patches the row and waits for the watcher's event of it. */
async function patchSeen(): Promise<void> {
  counter++;
  await writer.request({ action: 'patch', pk, data: { counter }, request_id: `p${counter}` });
  for (;;) {
    const event = await watcher.next();
    if (event.data?.counter === counter) return;
  }
}

/** Sends the client's close, waits for the server's, then patches twice (each seen by the watcher) and lets frames arrive. */
async function closeThenPatch(client: RawClient): Promise<void> {
  client.send(8, CLOSE_1000);
  await eventually(() => client.frames.some((frame) => frame.opcode === 8), "the server's close frame");
  await patchSeen();
  await patchSeen();
  await new Promise((resolve) => setTimeout(resolve, 100));
}

test('DCRF: no event after the close frame', async () => {
  const client = await RawClient.open(app.port, '/ws/things/');
  try {
    client.send(1, JSON.stringify({ action: 'subscribe_instance', pk, request_id: 1 }));
    await eventually(() => client.texts().some((text: any) => text.response_status === 201), 'subscribed');
    await patchSeen();
    await eventually(() => client.texts().some((text: any) => text.data?.counter === counter), 'an event before the close');
    await closeThenPatch(client);
    assert.deepEqual(framesAfterClose(client), []);
  } finally {
    client.destroy();
  }
});

test('GraphQL: no event after the close frame', async () => {
  const client = await RawClient.open(app.port, '/graphql', 'graphql-transport-ws');
  try {
    client.send(1, JSON.stringify({ type: 'connection_init' }));
    await eventually(() => client.texts().some((text: any) => text.type === 'connection_ack'), 'connection_ack');
    const query = 'subscription ($id: ID!) { thingChanged(id: $id) { data { counter } } }';
    client.send(1, JSON.stringify({ id: 'a', type: 'subscribe', payload: { query, variables: { id: String(pk) } } }));
    // graphql-transport-ws does not acknowledge a subscribe: patch until an event arrives.
    await eventually(async () => {
      await patchSeen();
      return client.texts().some((text: any) => text.type === 'next');
    }, 'an event before the close');
    await closeThenPatch(client);
    assert.deepEqual(framesAfterClose(client), []);
  } finally {
    client.destroy();
  }
});
