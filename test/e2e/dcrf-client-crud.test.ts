/**
 * The real dcrf-client (0.3.0, multiplexed on /ws) against the demo app: create, retrieve, list,
 * update, patch and delete on `things` (pkField `pk`) and `things_with_id` (pkField `id`), and error
 * replies rejecting with the whole payload.
 */
import { after, before, describe, test } from 'node:test';
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

/** The rejection value of a promise that must reject. */
async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the request to reject');
}

for (const [stream, pkField] of [
  ['things', 'pk'],
  ['things_with_id', 'id'],
] as const) {
  describe(`dcrf-client on ${stream} (pkField ${pkField})`, () => {
    let client: Client;
    before(async () => {
      client = await connect(pkField);
    });
    after(() => client.close());

    test('create, retrieve, list, update, patch, delete', async () => {
      const created = await client.create(stream, { name: `${stream} one` });
      const pk = created[pkField];
      assert.equal(typeof pk, 'number');
      assert.deepEqual(created, { [pkField]: pk, name: `${stream} one`, counter: 0 });

      assert.deepEqual(await client.retrieve(stream, pk), created);
      const list = await client.list(stream);
      assert.ok(Array.isArray(list));
      assert.deepEqual(
        list.find((row: Record<string, unknown>) => row[pkField] === pk),
        created,
      );

      assert.deepEqual(await client.update(stream, pk, { name: `${stream} two`, counter: 4 }), {
        [pkField]: pk,
        name: `${stream} two`,
        counter: 4,
      });
      assert.deepEqual(await client.patch(stream, pk, { counter: 5 }), { [pkField]: pk, name: `${stream} two`, counter: 5 });
      assert.deepEqual(await client.retrieve(stream, pk), { [pkField]: pk, name: `${stream} two`, counter: 5 });

      assert.equal(await client.delete(stream, pk), null);
      const gone = await rejection(client.retrieve(stream, pk));
      assert.equal(gone.response_status, 404);
      assert.deepEqual(gone.errors, ['Not found']);
    });

    test('an error reply rejects with the whole payload', async () => {
      const invalid = await rejection(client.create(stream, {}));
      assert.deepEqual(Object.keys(invalid).sort(), ['action', 'data', 'errors', 'request_id', 'response_status']);
      assert.equal(invalid.response_status, 400);
      assert.equal(invalid.action, 'create');
      assert.equal(invalid.data, null);
      assert.deepEqual(invalid.errors, [{ name: ['This field is required.'] }]);
      assert.equal(typeof invalid.request_id, 'string', 'the client’s own request id came back');

      const tooLong = await rejection(
        client.patch(stream, (await client.create(stream, { name: 'ok' }))[pkField], { name: 'x'.repeat(65) }),
      );
      assert.deepEqual(tooLong.errors, [{ name: ['Ensure this field has no more than 64 characters.'] }]);

      const missing = await rejection(client.update(stream, 999_999, { name: 'x' }));
      assert.equal(missing.response_status, 404);

      const unknown = await rejection(client.request(stream, { action: 'nope' }));
      assert.equal(unknown.response_status, 405);
      assert.deepEqual(unknown.errors, ['Method "nope" not allowed.']);
    });

    test('concurrent requests are matched to their replies by request_id', async () => {
      const names = Array.from({ length: 20 }, (_, i) => `${stream} parallel ${i}`);
      const created = await Promise.all(names.map((name) => client.create(stream, { name })));
      assert.deepEqual(
        created.map((row) => row.name),
        names,
      );
      const retrieved = await Promise.all(created.map((row) => client.retrieve(stream, row[pkField])));
      assert.deepEqual(retrieved, created);
    });
  });
}
