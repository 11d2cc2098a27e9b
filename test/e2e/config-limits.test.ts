import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';

let app: TestApp;
before(async () => {
  app = await startTestApp({ env: { MAX_SUBSCRIPTIONS_PER_SOCKET: '1' } });
});
after(async () => {
  await app.close();
});

test('MAX_SUBSCRIPTIONS_PER_SOCKET reaches the running app', async () => {
  const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const created = await socket.request({ action: 'create', data: { name: 'limited' }, request_id: 1 });
  const pk = created.data.pk;
  assert.deepEqual(await socket.request({ action: 'subscribe_instance', pk, request_id: 2 }), reply('subscribe_instance', null, 201, 2));
  assert.deepEqual(
    await socket.request({ action: 'subscribe_many', request_id: 3 }),
    reply('subscribe_many', null, 429, 3, ['Too many subscriptions.']),
  );
  socket.close();
});
