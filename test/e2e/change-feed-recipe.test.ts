/**
 * The client recipe on a model nobody in the app has subscribed to yet: read with a position, let
 * another client write, then subscribe since the read's position: the write in between is replayed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

test('DCRF: list with_position, a write by another client, subscribe_activity since the position: the write is replayed', async () => {
  const reader = await TestSocket.open(`${app.wsUrl}/ws/tests/`);
  const read = await reader.request({ action: 'list', with_position: true, request_id: 1 });
  assert.equal(read.response_status, 200);
  const position = (read as unknown as { position: string }).position;
  assert.equal(typeof position, 'string');
  const writer = await TestSocket.open(`${app.wsUrl}/ws/tests/`);
  const created = await writer.request({ action: 'create', data: { name: 'between' }, request_id: 2 });
  assert.equal(created.response_status, 201);
  const subscribed = await reader.request({ action: 'subscribe_activity', since: position, request_id: 3 });
  assert.equal(subscribed.response_status, 201);
  const event = (await reader.next()) as Record<string, unknown>;
  assert.equal(event.action, 'create');
  assert.deepEqual(event.data, { id: created.data.id, name: 'between' });
  assert.equal(event.request_id, 3);
  assert.equal(typeof event.position, 'string');
  reader.close();
  writer.close();
});
