/**
 * Live data on `things` and `things_with_id`, frame for frame as DCRF itself sends them (recorded frames)
 * them from real DCRF: subscribe_instance / unsubscribe_instance (A subscribes, B writes) and
 * subscribe_many / unsubscribe_many (with and without `things`).
 */
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

const open = (stream: string) => TestSocket.open(`${app.wsUrl}/ws/${stream}/`);

test('subscribe_instance: update events re-read the row, delete is exactly {"pk"} with 204, unsubscribe 204 then 404', async () => {
  const [a, b] = [await open('things'), await open('things')];
  const created = await a.request({ action: 'create', data: { name: 'gamma' }, request_id: 30 });
  const pk = created.data.pk;
  assert.deepEqual(await a.request({ action: 'subscribe_instance', pk, request_id: 31 }), reply('subscribe_instance', null, 201, 31));
  assert.deepEqual(
    await a.request({ action: 'subscribe_instance', pk: 999999, request_id: 32 }),
    reply('subscribe_instance', null, 404, 32, ['Not found']),
  );

  assert.deepEqual(
    await b.request({ action: 'patch', pk, data: { counter: 7 }, request_id: 1 }),
    reply('patch', { pk, name: 'gamma', counter: 7 }, 200, 1),
  );
  assert.deepEqual(await a.next(), reply('update', { pk, name: 'gamma', counter: 7 }, 200, 31));

  // Own write: the reply first, then the event.
  a.send({ action: 'patch', pk, data: { counter: 8 }, request_id: 33 });
  assert.deepEqual(await a.next(), reply('patch', { pk, name: 'gamma', counter: 8 }, 200, 33));
  assert.deepEqual(await a.next(), reply('update', { pk, name: 'gamma', counter: 8 }, 200, 31));

  await b.request({ action: 'update', pk, data: { name: 'gamma2', counter: 9 }, request_id: 2 });
  assert.deepEqual(await a.next(), reply('update', { pk, name: 'gamma2', counter: 9 }, 200, 31));

  assert.deepEqual(await a.request({ action: 'unsubscribe_instance', pk, request_id: 31 }), reply('unsubscribe_instance', null, 204, 31));
  await b.request({ action: 'patch', pk, data: { counter: 10 }, request_id: 3 });
  assert.ok(await a.quiet(), 'nothing after unsubscribe_instance');

  assert.deepEqual(await a.request({ action: 'subscribe_instance', pk, request_id: 34 }), reply('subscribe_instance', null, 201, 34));
  assert.deepEqual(await b.request({ action: 'delete', pk, request_id: 4 }), reply('delete', null, 204, 4));
  assert.deepEqual(await a.next(), reply('delete', { pk }, 204, 34));
  assert.deepEqual(
    await a.request({ action: 'unsubscribe_instance', pk, request_id: 34 }),
    reply('unsubscribe_instance', null, 404, 34, ['Not found']),
  );
  a.close();
  b.close();
});

test('subscribe_many: every Thing (A) or only `things: [pk]` (A2); delete is 204 with the last state', async () => {
  const [a, a2, b] = [await open('things'), await open('things'), await open('things')];
  const first = (await b.request({ action: 'create', data: { name: 'alpha2', counter: 3 }, request_id: 0 })).data;
  assert.deepEqual(await a.request({ action: 'subscribe_many', request_id: 40 }), reply('subscribe_many', null, 201, 40));
  assert.deepEqual(
    await a2.request({ action: 'subscribe_many', things: [first.pk], request_id: 41 }),
    reply('subscribe_many', null, 201, 41),
  );

  const delta = (await b.request({ action: 'create', data: { name: 'delta' }, request_id: 5 })).data;
  assert.deepEqual(await a.next(), reply('create', { pk: delta.pk, name: 'delta', counter: 0 }, 200, 40));
  await b.request({ action: 'patch', pk: delta.pk, data: { counter: 1 }, request_id: 6 });
  assert.deepEqual(await a.next(), reply('update', { pk: delta.pk, name: 'delta', counter: 1 }, 200, 40));
  await b.request({ action: 'patch', pk: first.pk, data: { counter: 4 }, request_id: 7 });
  assert.deepEqual(await a2.next(), reply('update', { pk: first.pk, name: 'alpha2', counter: 4 }, 200, 41));
  assert.deepEqual(await a.next(), reply('update', { pk: first.pk, name: 'alpha2', counter: 4 }, 200, 40));
  await b.request({ action: 'delete', pk: delta.pk, request_id: 8 });
  assert.deepEqual(await a.next(), reply('delete', { pk: delta.pk, name: 'delta', counter: 1 }, 204, 40));
  assert.ok(await a2.quiet(), 'A2 only follows its own pk');

  assert.deepEqual(await a.request({ action: 'unsubscribe_many', request_id: 40 }), reply('unsubscribe_many', null, 204, 40));
  assert.deepEqual(await a2.request({ action: 'unsubscribe_many', request_id: 41 }), reply('unsubscribe_many', null, 204, 41));
  await b.request({ action: 'patch', pk: first.pk, data: { counter: 5 }, request_id: 9 });
  assert.ok((await a.quiet()) && (await a2.quiet()), 'nothing after unsubscribe_many');
  for (const socket of [a, a2, b]) socket.close();
});

test('things_with_id: the same events through the `id` serializer; the instance delete is still {"pk"}', async () => {
  const [w, a, b] = [await open('things_with_id'), await open('things'), await open('things')];
  const eps = (await w.request({ action: 'create', data: { name: 'eps' }, request_id: 3 })).data;
  assert.deepEqual(eps, { id: eps.id, name: 'eps', counter: 0 });
  assert.deepEqual(await w.request({ action: 'subscribe_many', request_id: 4 }), reply('subscribe_many', null, 201, 4));
  assert.deepEqual(await w.request({ action: 'subscribe_instance', pk: eps.id, request_id: 5 }), reply('subscribe_instance', null, 201, 5));
  assert.deepEqual(await a.request({ action: 'subscribe_many', things: [eps.id], request_id: 42 }), reply('subscribe_many', null, 201, 42));

  await b.request({ action: 'patch', pk: eps.id, data: { counter: 2 }, request_id: 10 });
  assert.deepEqual(await a.next(), reply('update', { pk: eps.id, name: 'eps', counter: 2 }, 200, 42));
  const wEvents = [await w.next(), await w.next()].sort((l, r) => l.request_id - r.request_id);
  assert.deepEqual(wEvents, [
    reply('update', { id: eps.id, name: 'eps', counter: 2 }, 200, 4),
    reply('update', { id: eps.id, name: 'eps', counter: 2 }, 200, 5),
  ]);

  await b.request({ action: 'delete', pk: eps.id, request_id: 11 });
  assert.deepEqual(await a.next(), reply('delete', { pk: eps.id, name: 'eps', counter: 2 }, 204, 42));
  const wDeletes = [await w.next(), await w.next()].sort((l, r) => l.request_id - r.request_id);
  assert.deepEqual(wDeletes, [reply('delete', { id: eps.id, name: 'eps', counter: 2 }, 204, 4), reply('delete', { pk: eps.id }, 204, 5)]);
  assert.deepEqual(await a.request({ action: 'unsubscribe_many', request_id: 42 }), reply('unsubscribe_many', null, 204, 42));
  for (const socket of [w, a, b]) socket.close();
});

test("subscribe_many and subscribe_instance on one socket: each event carries its own subscription's request_id", async () => {
  const [a, b] = [await open('things'), await open('things')];
  assert.deepEqual(await a.request({ action: 'subscribe_many', request_id: 'all' }), reply('subscribe_many', null, 201, 'all'));
  const row = (await b.request({ action: 'create', data: { name: 'n' }, request_id: 1 })).data;
  assert.equal((await a.next()).action, 'create');
  await a.request({ action: 'subscribe_instance', pk: row.pk, request_id: 'one' });
  await b.request({ action: 'patch', pk: row.pk, data: { name: 'n2' }, request_id: 2 });
  const events = [await a.next(), await a.next()].sort((l, r) => String(l.request_id).localeCompare(String(r.request_id)));
  assert.deepEqual(events, [
    reply('update', { pk: row.pk, name: 'n2', counter: 0 }, 200, 'all'),
    reply('update', { pk: row.pk, name: 'n2', counter: 0 }, 200, 'one'),
  ]);
  a.close();
  b.close();
});
