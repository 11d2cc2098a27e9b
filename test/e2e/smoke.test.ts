import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

test('create then retrieve a thing over /ws/things/', async () => {
  const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const created = await socket.request({ action: 'create', data: { name: 'alpha' }, request_id: 1 });
  assert.deepEqual(created, reply('create', { pk: created.data.pk, name: 'alpha', counter: 0 }, 201, 1));
  const retrieved = await socket.request({ action: 'retrieve', pk: created.data.pk, request_id: 2 });
  assert.deepEqual(retrieved, reply('retrieve', created.data, 200, 2));
  socket.close();
});

test('/healthz answers ok', async () => {
  const response = await fetch(`${app.url}/healthz`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { status: 'ok' });
});
