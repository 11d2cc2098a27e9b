/**
 * docs/dcrf-protocol.md: the multiplexer on /ws. Every frame in and out is
 * `{"stream", "payload"}`; bad wrappers, unknown streams and unreadable frames are answered (DCRF
 * closes the whole socket) and the socket keeps working.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { assertMultiplexed } from '../helpers/dcrf.js';

const SHAPE = 'Invalid message: expected {"stream", "payload"}';

let app: TestApp;
let mux: TestSocket;

before(async () => {
  app = await startTestApp();
  mux = await TestSocket.open(`${app.wsUrl}/ws`);
});
after(async () => {
  mux.close();
  await app.close();
});

const wrapped = (stream: unknown, payload: unknown) => ({ stream, payload });

test('replies come back wrapped with their stream; each stream serializes as its own consumer', async () => {
  const created = await mux.request(wrapped('things', { action: 'create', data: { name: 'mux' }, request_id: 2 }));
  const pk = created.payload.data.pk;
  assert.deepEqual(created, wrapped('things', reply('create', { pk, name: 'mux', counter: 0 }, 201, 2)));
  assert.deepEqual(
    await mux.request(wrapped('things_with_id', { action: 'retrieve', pk, request_id: 3 })),
    wrapped('things_with_id', reply('retrieve', { id: pk, name: 'mux', counter: 0 }, 200, 3)),
  );
  assert.deepEqual(
    await mux.request(wrapped('things', { action: 'retrieve', pk: 9999, request_id: 4 })),
    wrapped('things', reply('retrieve', null, 404, 4, ['Not found'])),
  );
  assert.deepEqual(
    await mux.request(wrapped('things', { action: 'nope', request_id: 5 })),
    wrapped('things', reply('nope', null, 405, 5, ['Method "nope" not allowed.'])),
  );
  assert.deepEqual(
    await mux.request(wrapped('things', { request_id: 6 })),
    wrapped('things', reply(null, null, 405, 6, ['Unable to find action in message body.'])),
  );
  assert.deepEqual(
    await mux.request(wrapped('things', { action: 'create', data: {}, request_id: 7 })),
    wrapped('things', reply('create', null, 400, 7, [{ name: ['This field is required.'] }])),
  );
  assert.deepEqual(
    await mux.request(wrapped('tests', { action: 'create', data: { name: 'mux test' }, request_id: 8 })),
    wrapped('tests', reply('create', { id: 1, name: 'mux test' }, 201, 8)),
  );
  assert.deepEqual(
    await mux.request(wrapped('hello', { action: 'retrieve', query: { name: 'mux' }, request_id: 14 })),
    wrapped('hello', reply('retrieve', { hello: 'mux' }, 200, 14)),
  );
  // The wrapper itself may carry extra keys.
  assert.deepEqual(
    await mux.request({ stream: 'hello', payload: { action: 'create', data: { name: 'mux' }, request_id: 15 }, extra: true }),
    wrapped('hello', reply('create', { hello: 'mux' }, 201, 15)),
  );
});

test('every stream consumer shares the connection scope (user from the upgrade)', async () => {
  const token = await app.token('alice');
  const anonymous = await mux.request(wrapped('users', { action: 'me', request_id: 9 }));
  assert.deepEqual(anonymous, wrapped('users', reply('me', null, 403, 9, ['You do not have permission to perform this action.'])));
  const alice = await TestSocket.open(`${app.wsUrl}/ws/`, { headers: { Cookie: `token=${token}` } });
  const me = await alice.request(wrapped('users', { action: 'me', request_id: 1 }));
  assert.deepEqual(me, wrapped('users', reply('me', { id: me.payload.data.id, username: 'alice', email: 'alice@example.com' }, 200, 1)));
  const list = await alice.request(wrapped('users', { action: 'list', request_id: 2 }));
  assert.equal(list.stream, 'users');
  assert.equal(list.payload.data.limit, 2);
  alice.close();
});

test('streamed pages come back wrapped, one per page, with the same request_id', async () => {
  for (let i = 1; i <= 12; i++) await mux.request(wrapped('schools', { action: 'create', data: { name: `school ${i}` }, request_id: i }));
  mux.send(wrapped('schools', { action: 'list', limit: 5, offset: 3, request_id: 10 }));
  const pages = [await mux.next(), await mux.next()];
  for (const page of pages) {
    assertMultiplexed(page);
    assert.equal(page.stream, 'schools');
    assert.equal(page.payload.request_id, 10);
  }
  assert.deepEqual(
    pages.map((page) => (page.payload.data as { offset: number }).offset),
    [3, 8],
  );
  assert.deepEqual((pages[1]!.payload.data as { results: unknown[] }).results.length, 4);
  assert.ok(await mux.quiet());
});

test('a frame without stream or payload: 400 in a wrapper, stream as sent or null', async () => {
  assert.deepEqual(await mux.request({ payload: { action: 'list', request_id: 1 } }), wrapped(null, reply('list', null, 400, 1, [SHAPE])));
  assert.deepEqual(await mux.request({ stream: 'things' }), wrapped('things', reply(null, null, 400, null, [SHAPE])));
  assert.deepEqual(await mux.request({ stream: 'things', payload: 'x' }), wrapped('things', reply(null, null, 400, null, [SHAPE])));
  assert.deepEqual(await mux.request({ stream: 'things', payload: [1] }), wrapped('things', reply(null, null, 400, null, [SHAPE])));
  assert.deepEqual(await mux.request({ stream: 'things', payload: null }), wrapped('things', reply(null, null, 400, null, [SHAPE])));
  assert.deepEqual(
    await mux.request({ stream: 5, payload: { action: 'list', request_id: 2 } }),
    wrapped(5, reply('list', null, 400, 2, [SHAPE])),
  );
  // A bare DCRF frame on /ws.
  assert.deepEqual(await mux.request({ action: 'list', request_id: 1 }), wrapped(null, reply(null, null, 400, null, [SHAPE])));
});

test('an unknown stream: 400 "Unknown stream"', async () => {
  assert.deepEqual(
    await mux.request(wrapped('nope', { action: 'list', request_id: 1 })),
    wrapped('nope', reply('list', null, 400, 1, ['Unknown stream "nope".'])),
  );
  for (const name of ['__proto__', 'constructor', 'THINGS', 'things/']) {
    assert.deepEqual(
      await mux.request(wrapped(name, { action: 'list', request_id: 2 })),
      wrapped(name, reply('list', null, 400, 2, [`Unknown stream "${name}".`])),
    );
  }
});

test('invalid JSON, binary and non-object frames on /ws: 400 with stream null; the socket stays open', async () => {
  const invalid = (frame: unknown) => {
    assertMultiplexed(frame);
    assert.equal(frame.stream, null);
    assert.equal(frame.payload.response_status, 400);
    assert.equal(frame.payload.action, null);
    assert.match((frame.payload.errors as string[])[0]!, /^Invalid message: /);
  };
  invalid(await mux.request('not json'));
  invalid(await mux.request(''));
  invalid(await mux.request('[1,2]'));
  mux.ws.send(Buffer.from(JSON.stringify(wrapped('things', { action: 'list', request_id: 1 }))), { binary: true });
  invalid(await mux.next());
  const deep = `{"stream":"things","payload":${'['.repeat(70)}${']'.repeat(70)}}`;
  assert.deepEqual(await mux.request(deep), wrapped(null, reply(null, null, 400, null, ['Invalid message: nested too deeply'])));
  const ok = await mux.request(wrapped('things', { action: 'list', request_id: 3 }));
  assert.equal(ok.payload.response_status, 200);
});

test('a child error does not close the socket or disturb other streams', async () => {
  assert.deepEqual(
    await mux.request(wrapped('things', { action: 'create', request_id: 1 })),
    wrapped('things', reply('create', null, 400, 1, [{ non_field_errors: ['No data provided'] }])),
  );
  assert.deepEqual(
    await mux.request(wrapped('things', { action: 'retrieve', request_id: 2 })),
    wrapped('things', reply('retrieve', null, 400, 2, [{ pk: ['This field is required.'] }])),
  );
  assert.equal((await mux.request(wrapped('tests', { action: 'list', request_id: 3 }))).payload.response_status, 200);
  assert.equal(mux.closeCode, undefined);
});
