/**
 * The real dcrf-client (0.3.0, multiplexed on /ws) subscribing to the demo app: `subscribe` (it sends
 * subscribe_instance and routes update events by `data[pkField]`, delete events by `data.pk`, then
 * moves `pk` to `pkField` itself), on `things` (pkField `pk`) and `things_with_id` (pkField `id`), and
 * subscribe_many events read through its public dispatcher.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { connectDcrfClient, type DcrfClient as Client } from '../helpers/dcrf-client.js';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

function connect(pkField: string): Promise<Client> {
  return connectDcrfClient(app.wsUrl, pkField);
}

/** Collects callback calls; `next()` waits for the next one. */
class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(item: T) => void> = [];
  readonly push = (item: T) => {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  };
  next(timeoutMs = 3000): Promise<T> {
    if (this.items.length) return Promise.resolve(this.items.shift()!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no callback within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((item) => {
        clearTimeout(timer);
        resolve(item);
      });
    });
  }
  get pending(): number {
    return this.items.length;
  }
}

for (const [stream, pkField] of [
  ['things', 'pk'],
  ['things_with_id', 'id'],
] as const) {
  test(`${stream}: subscribe, update, then delete reaches the callback as {${pkField}: id}`, async () => {
    const client = await connect(pkField);
    const row = await client.create(stream, { name: 'watched' });
    const id = row[pkField];
    const events = new Inbox<[any, string]>();
    assert.equal(await client.subscribe(stream, id, (data, action) => events.push([data, action])), null);
    await client.patch(stream, id, { counter: 3 });
    assert.deepEqual(await events.next(), [{ [pkField]: id, name: 'watched', counter: 3 }, 'update']);
    await client.delete(stream, id);
    assert.deepEqual(await events.next(), [{ [pkField]: id }, 'delete']);
    client.close();
  });
}

test('a subscribe that is not awaited, followed at once by an update: the callback gets the update', async () => {
  const client = await connect('pk');
  const row = await client.create('things', { name: 'quick' });
  const events = new Inbox<[any, string]>();
  const subscribed = client.subscribe('things', row.pk, (data, action) => events.push([data, action]));
  const patched = client.patch('things', row.pk, { counter: 1 });
  assert.deepEqual(await events.next(), [{ pk: row.pk, name: 'quick', counter: 1 }, 'update']);
  assert.equal(await subscribed, null);
  assert.deepEqual(await patched, { pk: row.pk, name: 'quick', counter: 1 });
  client.close();
});

test('several objects subscribed on one client: each callback gets its own object only', async () => {
  const client = await connect('id');
  const rows = [];
  for (const name of ['a', 'b', 'c']) rows.push(await client.create('things_with_id', { name }));
  const inboxes = rows.map(() => new Inbox<[any, string]>());
  await Promise.all(rows.map((row, i) => client.subscribe('things_with_id', row.id, (data, action) => inboxes[i]!.push([data, action]))));
  for (const [i, row] of rows.entries()) await client.patch('things_with_id', row.id, { counter: 10 + i });
  for (const [i, row] of rows.entries()) {
    assert.deepEqual(await inboxes[i]!.next(), [{ id: row.id, name: row.name, counter: 10 + i }, 'update']);
  }
  await client.delete('things_with_id', rows[1].id);
  assert.deepEqual(await inboxes[1]!.next(), [{ id: rows[1].id }, 'delete']);
  await client.patch('things_with_id', rows[0].id, { counter: 20 });
  assert.deepEqual(await inboxes[0]!.next(), [{ id: rows[0].id, name: 'a', counter: 20 }, 'update']);
  assert.equal(inboxes[1]!.pending + inboxes[2]!.pending, 0, 'the other callbacks got nothing more');
  client.close();
});

test('subscribe_many through the public dispatcher: create, update and delete events', async () => {
  const client = await connect('pk');
  const events = new Inbox<any>();
  const listener = client.dispatcher.listen({ stream: 'things', payload: { request_id: 'many' } }, (message) => {
    if (message.payload.action !== 'subscribe_many') events.push(message.payload);
  });
  assert.equal(await client.request('things', { action: 'subscribe_many' }, 'many'), null);
  const row = await client.create('things', { name: 'm' });
  await client.patch('things', row.pk, { counter: 2 });
  await client.delete('things', row.pk);
  const expected = [
    ['create', { pk: row.pk, name: 'm', counter: 0 }, 200],
    ['update', { pk: row.pk, name: 'm', counter: 2 }, 200],
    ['delete', { pk: row.pk, name: 'm', counter: 2 }, 204],
  ];
  for (const [action, data, status] of expected) {
    assert.deepEqual(await events.next(), { errors: [], data, action, response_status: status, request_id: 'many' });
  }
  client.dispatcher.cancel(listener);
  client.close();
});
