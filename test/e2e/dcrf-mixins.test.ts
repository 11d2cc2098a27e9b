/**
 * Each built-in mixin on the demo streams (docs/dcrf-protocol.md): list, retrieve, create (201),
 * update (full), patch, delete (204); PaginatedList on `users`; StreamedPaginatedList and list_cancel
 * on `schools`; and `hello`, an HTTP handler served through viewAsConsumer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { assertEnvelope } from '../helpers/dcrf.js';

let app: TestApp;

before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

describe('CRUD mixins', () => {
  test('things: list, create 201, retrieve, update (full), patch, delete 204', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    assert.deepEqual(await socket.request({ action: 'list', request_id: 1 }), reply('list', [], 200, 1));
    const alpha = await socket.request({ action: 'create', data: { name: 'alpha' }, request_id: 2 });
    assert.deepEqual(alpha, reply('create', { pk: alpha.data.pk, name: 'alpha', counter: 0 }, 201, 2));
    const beta = await socket.request({ action: 'create', data: { name: 'beta', counter: 5 }, request_id: 3 });
    assert.deepEqual(beta, reply('create', { pk: beta.data.pk, name: 'beta', counter: 5 }, 201, 3));
    // Read-only and unknown input keys are ignored.
    const gamma = await socket.request({ action: 'create', data: { name: 'gamma', pk: 500, id: 500, bogus: 1 }, request_id: 4 });
    assert.equal(gamma.response_status, 201);
    assert.notEqual(gamma.data.pk, 500);
    assert.deepEqual(await socket.request({ action: 'list', request_id: 10 }), reply('list', [alpha.data, beta.data, gamma.data], 200, 10));
    assert.deepEqual(
      await socket.request({ action: 'retrieve', pk: alpha.data.pk, request_id: 11 }),
      reply('retrieve', alpha.data, 200, 11),
    );

    const pk = alpha.data.pk;
    assert.deepEqual(
      await socket.request({ action: 'update', pk, data: { name: 'alpha2', counter: 1 }, request_id: 14 }),
      reply('update', { pk, name: 'alpha2', counter: 1 }, 200, 14),
    );
    // A full update requires the required fields; an omitted optional field keeps its value (DRF).
    assert.deepEqual(
      await socket.request({ action: 'update', pk, data: { name: 'alpha3' }, request_id: 15 }),
      reply('update', { pk, name: 'alpha3', counter: 1 }, 200, 15),
    );
    assert.deepEqual(
      await socket.request({ action: 'patch', pk, data: { counter: 3 }, request_id: 17 }),
      reply('patch', { pk, name: 'alpha3', counter: 3 }, 200, 17),
    );
    assert.deepEqual(
      await socket.request({ action: 'patch', pk, data: {}, request_id: 18 }),
      reply('patch', { pk, name: 'alpha3', counter: 3 }, 200, 18),
    );
    assert.deepEqual(
      await socket.request({ action: 'patch', pk, data: { counter: 'x' }, request_id: 19 }),
      reply('patch', null, 400, 19, [{ counter: ['A valid integer is required.'] }]),
    );
    // Integers given as strings are accepted, as DRF does.
    assert.deepEqual(
      await socket.request({ action: 'patch', pk, data: { counter: '7' }, request_id: 20 }),
      reply('patch', { pk, name: 'alpha3', counter: 7 }, 200, 20),
    );

    assert.deepEqual(await socket.request({ action: 'delete', pk: beta.data.pk, request_id: 21 }), reply('delete', null, 204, 21));
    assert.deepEqual(
      await socket.request({ action: 'delete', pk: beta.data.pk, request_id: 22 }),
      reply('delete', null, 404, 22, ['Not found']),
    );
    assert.deepEqual(
      await socket.request({ action: 'retrieve', pk: beta.data.pk, request_id: 23 }),
      reply('retrieve', null, 404, 23, ['Not found']),
    );
    socket.close();
  });

  test('things_with_id: the same consumer serializes with `id`', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things_with_id`);
    const created = await socket.request({ action: 'create', data: { name: 'eps' }, request_id: 3 });
    assert.deepEqual(created, reply('create', { id: created.data.id, name: 'eps', counter: 0 }, 201, 3));
    assert.deepEqual(
      await socket.request({ action: 'retrieve', pk: created.data.id, request_id: 4 }),
      reply('retrieve', created.data, 200, 4),
    );
    const list = await socket.request({ action: 'list', request_id: 5 });
    assert.ok(list.data.every((row: object) => Object.keys(row).join() === 'id,name,counter'));
    assert.deepEqual(
      await socket.request({ action: 'update', pk: created.data.id, data: { name: 'eps2', counter: 2 }, request_id: 6 }),
      reply('update', { id: created.data.id, name: 'eps2', counter: 2 }, 200, 6),
    );
    assert.deepEqual(await socket.request({ action: 'delete', pk: created.data.id, request_id: 7 }), reply('delete', null, 204, 7));
    socket.close();
  });

  test('tests: CRUD with a 100-character limit', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/tests/`);
    const created = await socket.request({ action: 'create', data: { name: 't1' }, request_id: 1 });
    assert.deepEqual(created, reply('create', { id: created.data.id, name: 't1' }, 201, 1));
    const id = created.data.id;
    assert.deepEqual(
      await socket.request({ action: 'update', pk: id, data: { name: 't1b' }, request_id: 2 }),
      reply('update', { id, name: 't1b' }, 200, 2),
    );
    assert.deepEqual(
      await socket.request({ action: 'patch', pk: id, data: { name: 'y'.repeat(101) }, request_id: 3 }),
      reply('patch', null, 400, 3, [{ name: ['Ensure this field has no more than 100 characters.'] }]),
    );
    assert.deepEqual(
      await socket.request({ action: 'patch', pk: id, data: { name: 't1c' }, request_id: 4 }),
      reply('patch', { id, name: 't1c' }, 200, 4),
    );
    assert.deepEqual(await socket.request({ action: 'list', request_id: 5 }), reply('list', [{ id, name: 't1c' }], 200, 5));
    assert.deepEqual(await socket.request({ action: 'delete', pk: id, request_id: 6 }), reply('delete', null, 204, 6));
    assert.deepEqual(await socket.request({ action: 'list', request_id: 7 }), reply('list', [], 200, 7));
    socket.close();
  });

  test('classrooms: create with a foreign key, patch moves it, no update action', async () => {
    const schools = await TestSocket.open(`${app.wsUrl}/ws/schools/`);
    const one = (await schools.request({ action: 'create', data: { name: 'one' }, request_id: 1 })).data;
    const two = (await schools.request({ action: 'create', data: { name: 'two' }, request_id: 2 })).data;
    schools.close();
    const socket = await TestSocket.open(`${app.wsUrl}/ws/classrooms/`);
    const room = await socket.request({ action: 'create', data: { name: 'room', school: one.id }, request_id: 1 });
    assert.deepEqual(room, reply('create', { id: room.data.id, name: 'room', school: one.id }, 201, 1));
    const id = room.data.id;
    assert.deepEqual(
      await socket.request({ action: 'patch', pk: id, data: { school: String(two.id) }, request_id: 2 }),
      reply('patch', { id, name: 'room', school: two.id }, 200, 2),
    );
    assert.deepEqual(
      await socket.request({ action: 'update', pk: id, data: { name: 'x', school: one.id }, request_id: 3 }),
      reply('update', null, 405, 3, ['Method "update" not allowed.']),
    );
    assert.deepEqual(
      await socket.request({ action: 'retrieve', pk: id, request_id: 4 }),
      reply('retrieve', { id, name: 'room', school: two.id }, 200, 4),
    );
    assert.deepEqual(await socket.request({ action: 'delete', pk: id, request_id: 5 }), reply('delete', null, 204, 5));
    socket.close();
  });
});

describe('PaginatedModelListMixin on users (default limit 2, max 100)', () => {
  let users: TestSocket;
  let everyone: Array<{ id: number; username: string; email: string }>;

  before(async () => {
    const token = await app.token('alice');
    await app.token('bob');
    await app.token('carol');
    users = await TestSocket.open(`${app.wsUrl}/ws/users/`, { headers: { Authorization: `Bearer ${token}` } });
    everyone = ['alice', 'bob', 'carol'].map((username, index) => ({ id: index + 1, username, email: `${username}@example.com` }));
  });
  after(() => users.close());

  const page = (results: unknown[], limit: number, offset: number) => ({ count: 3, results, limit, offset });

  test('no limit: the default, 2', async () => {
    assert.deepEqual(await users.request({ action: 'list', request_id: 1 }), reply('list', page(everyone.slice(0, 2), 2, 0), 200, 1));
  });

  test('limit and offset', async () => {
    assert.deepEqual(
      await users.request({ action: 'list', limit: 1, offset: 1, request_id: 2 }),
      reply('list', page([everyone[1]], 1, 1), 200, 2),
    );
  });

  test('a limit over the maximum is capped at 100', async () => {
    assert.deepEqual(await users.request({ action: 'list', limit: 1000, request_id: 3 }), reply('list', page(everyone, 100, 0), 200, 3));
  });

  test('limit 0 falls back to the default; a negative offset is 0', async () => {
    assert.deepEqual(
      await users.request({ action: 'list', limit: 0, offset: -4, request_id: 4 }),
      reply('list', page(everyone.slice(0, 2), 2, 0), 200, 4),
    );
    assert.deepEqual(
      await users.request({ action: 'list', limit: -3, request_id: 5 }),
      reply('list', page(everyone.slice(0, 2), 2, 0), 200, 5),
    );
  });

  test('an offset past the end: no results, the offset echoed', async () => {
    assert.deepEqual(await users.request({ action: 'list', offset: 50, request_id: 5 }), reply('list', page([], 2, 50), 200, 5));
    assert.deepEqual(await users.request({ action: 'list', offset: 3, request_id: 6 }), reply('list', page([], 2, 3), 200, 6));
  });

  test('limit and offset as strings are read as numbers; junk falls back', async () => {
    assert.deepEqual(
      await users.request({ action: 'list', limit: '1', offset: '2', request_id: 7 }),
      reply('list', page([everyone[2]], 1, 2), 200, 7),
    );
    assert.deepEqual(
      await users.request({ action: 'list', limit: 'abc', offset: 'x', request_id: 8 }),
      reply('list', page(everyone.slice(0, 2), 2, 0), 200, 8),
    );
    assert.deepEqual(
      await users.request({ action: 'list', limit: null, offset: [1], request_id: 9 }),
      reply('list', page(everyone.slice(0, 2), 2, 0), 200, 9),
    );
    assert.deepEqual(
      await users.request({ action: 'list', limit: 1e300, offset: 1e300, request_id: 10 }),
      reply('list', page([], 100, 1e300), 200, 10),
    );
    assert.deepEqual(
      await users.request({ action: 'list', limit: '99999999999999999999', offset: '99999999999999999999', request_id: 11 }),
      reply('list', page([], 100, 1e20), 200, 11),
    );
  });

  test('retrieve and the custom actions', async () => {
    assert.deepEqual(await users.request({ action: 'retrieve', pk: 1, request_id: 6 }), reply('retrieve', everyone[0], 200, 6));
    assert.deepEqual(await users.request({ action: 'retrieve', pk: 9999, request_id: 7 }), reply('retrieve', null, 404, 7, ['Not found']));
    assert.deepEqual(await users.request({ action: 'me', request_id: 8 }), reply('me', everyone[0], 200, 8));
    assert.deepEqual(
      await users.request({ action: 'send_email', pk: 1, to: 'x@example.com', request_id: 9 }),
      reply('send_email', {}, 200, 9),
    );
    assert.deepEqual(
      await users.request({ action: 'send_email', pk: 9999, to: 'x@example.com', request_id: 10 }),
      reply('send_email', null, 404, 10, ['Not found']),
    );
    assert.deepEqual(await users.request({ action: 'publish', pk: 1, request_id: 11 }), reply('publish', { pk: 1 }, 200, 11));
    assert.deepEqual(
      await users.request({ action: 'publish', pk: 'whatever', request_id: 12 }),
      reply('publish', { pk: 'whatever' }, 200, 12),
    );
  });
});

describe('StreamedPaginatedListMixin on schools (default limit 10)', () => {
  let schools: TestSocket;
  /** The 23 schools in creation (= primary key) order; `school(n)` is the n-th. */
  const created: Array<{ id: number; name: string }> = [];
  const school = (n: number) => created[n - 1]!;
  const range = (from: number, to: number) => created.slice(from - 1, to);

  before(async () => {
    // The classroom test made schools; start this stream from an empty table.
    await app.knex('classrooms').delete();
    await app.knex('schools').delete();
    schools = await TestSocket.open(`${app.wsUrl}/ws/schools/`);
  });
  after(() => schools.close());

  test('an empty table is one page', async () => {
    assert.deepEqual(
      await schools.request({ action: 'list', request_id: 1 }),
      reply('list', { count: 0, results: [], limit: 10, offset: 0 }, 200, 1),
    );
    assert.ok(await schools.quiet(100));
  });

  test('23 schools: pages at offset 0, 10, 20, back to back with the same request_id', async () => {
    for (let i = 1; i <= 23; i++) schools.send({ action: 'create', data: { name: `school ${i}` }, request_id: 100 + i });
    for (let i = 1; i <= 23; i++) {
      const frame = await schools.next();
      assert.deepEqual(frame, reply('create', { id: frame.data.id, name: `school ${i}` }, 201, 100 + i));
      if (created.length) assert.ok(frame.data.id > created[created.length - 1]!.id, 'ids grow in creation order');
      created.push(frame.data);
    }
    schools.send({ action: 'list', request_id: 5 });
    assert.deepEqual(await schools.next(), reply('list', { count: 23, results: range(1, 10), limit: 10, offset: 0 }, 200, 5));
    assert.deepEqual(await schools.next(), reply('list', { count: 23, results: range(11, 20), limit: 10, offset: 10 }, 200, 5));
    assert.deepEqual(await schools.next(), reply('list', { count: 23, results: range(21, 23), limit: 10, offset: 20 }, 200, 5));
    assert.ok(await schools.quiet());
  });

  test('from offset 12 with limit 5: pages at 12, 17, 22', async () => {
    schools.send({ action: 'list', limit: 5, offset: 12, request_id: 6 });
    assert.deepEqual(await schools.next(), reply('list', { count: 23, results: range(13, 17), limit: 5, offset: 12 }, 200, 6));
    assert.deepEqual(await schools.next(), reply('list', { count: 23, results: range(18, 22), limit: 5, offset: 17 }, 200, 6));
    assert.deepEqual(await schools.next(), reply('list', { count: 23, results: range(23, 23), limit: 5, offset: 22 }, 200, 6));
    assert.ok(await schools.quiet());
  });

  test('an offset past the end: one empty page', async () => {
    assert.deepEqual(
      await schools.request({ action: 'list', offset: 40, request_id: 7 }),
      reply('list', { count: 23, results: [], limit: 10, offset: 40 }, 200, 7),
    );
    assert.ok(await schools.quiet(100));
  });

  test('list_cancel with nothing in flight: 200, data null', async () => {
    assert.deepEqual(await schools.request({ action: 'list_cancel', request_id: 9 }), reply('list_cancel', null, 200, 9));
  });

  test('list_cancel right after a limit-1 list: no page after the cancel reply', async () => {
    for (let round = 0; round < 5; round++) {
      schools.send({ action: 'list', limit: 1, request_id: 10 });
      schools.send({ action: 'list_cancel', request_id: 11 });
      let pagesBefore = 0;
      for (;;) {
        const frame = await schools.next();
        if (frame.action === 'list_cancel') {
          assert.deepEqual(frame, reply('list_cancel', null, 200, 11));
          break;
        }
        assert.deepEqual(frame, reply('list', { count: 23, results: [school(pagesBefore + 1)], limit: 1, offset: pagesBefore }, 200, 10));
        pagesBefore++;
      }
      assert.ok(pagesBefore < 23, `the cancel stopped the list (${pagesBefore} pages before it)`);
      assert.ok(await schools.quiet(150), 'no page after the cancel reply');
    }
  });

  test('list_cancel once the first page is here', async () => {
    schools.send({ action: 'list', limit: 1, request_id: 12 });
    assert.deepEqual(await schools.next(), reply('list', { count: 23, results: [school(1)], limit: 1, offset: 0 }, 200, 12));
    schools.send({ action: 'list_cancel', request_id: 13 });
    let frame = await schools.next();
    while (frame.action === 'list') {
      assert.equal(frame.request_id, 12);
      frame = await schools.next();
    }
    assert.deepEqual(frame, reply('list_cancel', null, 200, 13));
    assert.ok(await schools.quiet(150));
  });

  test('other frames are answered while pages stream', async () => {
    schools.send({ action: 'list', limit: 1, request_id: 14 });
    schools.send({ action: 'retrieve', pk: school(3).id, request_id: 15 });
    let retrieved: any;
    let pages = 0;
    while (pages < 23) {
      const frame = await schools.next();
      assertEnvelope(frame);
      if (frame.action === 'retrieve') retrieved = frame;
      else pages++;
    }
    assert.deepEqual(retrieved, reply('retrieve', school(3), 200, 15));
    assert.ok(await schools.quiet(100));
  });

  test('retrieve and create validation on schools', async () => {
    assert.deepEqual(await schools.request({ action: 'retrieve', pk: school(1).id, request_id: 3 }), reply('retrieve', school(1), 200, 3));
    assert.deepEqual(
      await schools.request({ action: 'retrieve', pk: 9999, request_id: 4 }),
      reply('retrieve', null, 404, 4, ['Not found']),
    );
    assert.deepEqual(
      await schools.request({ action: 'create', data: {}, request_id: 2 }),
      reply('create', null, 400, 2, [{ name: ['This field is required.'] }]),
    );
  });
});

describe('hello: an HTTP handler through viewAsConsumer', () => {
  test('retrieve/list call GET with query, create calls POST (201), update is not mapped (405)', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/hello/`);
    assert.deepEqual(
      await socket.request({ action: 'retrieve', query: { name: 'x' }, request_id: 1 }),
      reply('retrieve', { hello: 'x' }, 200, 1),
    );
    assert.deepEqual(await socket.request({ action: 'retrieve', request_id: 2 }), reply('retrieve', { hello: 'world' }, 200, 2));
    assert.deepEqual(await socket.request({ action: 'list', query: { name: 'y' }, request_id: 3 }), reply('list', { hello: 'y' }, 200, 3));
    assert.deepEqual(
      await socket.request({ action: 'create', data: { name: 'z' }, request_id: 4 }),
      reply('create', { hello: 'z' }, 201, 4),
    );
    assert.deepEqual(await socket.request({ action: 'create', request_id: 5 }), reply('create', { hello: 'world' }, 201, 5));
    assert.deepEqual(
      await socket.request({ action: 'update', data: { name: 'z' }, request_id: 6 }),
      reply('update', null, 405, 6, ['Method "update" not allowed.']),
    );
    assert.deepEqual(await socket.request({ action: 'nope', request_id: 7 }), reply('nope', null, 405, 7, ['Method "nope" not allowed.']));
    assert.deepEqual(await socket.request({ request_id: 8 }), reply(null, null, 405, 8, ['Unable to find action in message body.']));
    // Odd query shapes are read, not crashed on.
    assert.deepEqual(
      await socket.request({ action: 'retrieve', query: 'name=q', request_id: 9 }),
      reply('retrieve', { hello: 'world' }, 200, 9),
    );
    assert.deepEqual(
      await socket.request({ action: 'retrieve', query: { name: ['a', 'b'] }, request_id: 10 }),
      reply('retrieve', { hello: 'a' }, 200, 10),
    );
    assert.deepEqual(
      await socket.request({ action: 'create', data: 'text', request_id: 11 }),
      reply('create', { hello: 'world' }, 201, 11),
    );
    socket.close();
  });
});
