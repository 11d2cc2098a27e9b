/**
 * dcrf-protocol.md sections 2–5 over real sockets on bare-frame paths (/ws/<stream>/): the reply
 * envelope, request_id echo, error statuses and strings, validation shapes, and the frames DCRF would
 * close the socket on, which we answer. Expected frames follow the frames recorded from DCRF.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { assertEnvelope, nestedFrame } from '../helpers/dcrf.js';

const DENIED = 'You do not have permission to perform this action.';
const REQUIRED = 'This field is required.';

let app: TestApp;
let things: TestSocket;
let alpha: { pk: number; name: string; counter: number };

before(async () => {
  app = await startTestApp();
  things = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  alpha = (await things.request({ action: 'create', data: { name: 'alpha' }, request_id: 0 })).data;
});
after(async () => {
  things.close();
  await app.close();
});

describe('section 2: frames and the reply envelope', () => {
  test('a reply has exactly the five keys, in DCRF order', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const texts: string[] = [];
    socket.ws.on('message', (data) => texts.push(data.toString()));
    await socket.request({ action: 'retrieve', pk: alpha.pk, request_id: 1 });
    const keys = Object.keys(JSON.parse(texts[0]!));
    assert.deepEqual(keys, ['errors', 'data', 'action', 'response_status', 'request_id']);
    socket.close();
  });

  test('request_id is echoed unchanged: number, string, any JSON value; absent means null', async () => {
    const data = { pk: alpha.pk, name: 'alpha', counter: 0 };
    assert.deepEqual(await things.request({ action: 'retrieve', pk: alpha.pk, request_id: 24 }), reply('retrieve', data, 200, 24));
    assert.deepEqual(
      await things.request({ action: 'retrieve', pk: alpha.pk, request_id: 'uuid-like-string' }),
      reply('retrieve', data, 200, 'uuid-like-string'),
    );
    assert.deepEqual(await things.request({ action: 'retrieve', pk: alpha.pk, request_id: 1.5 }), reply('retrieve', data, 200, 1.5));
    assert.deepEqual(
      await things.request({ action: 'retrieve', pk: alpha.pk, request_id: { nested: [1, 'a'] } }),
      reply('retrieve', data, 200, { nested: [1, 'a'] }),
    );
    assert.deepEqual(await things.request({ action: 'retrieve', pk: alpha.pk }), reply('retrieve', data, 200, null));
    assert.deepEqual(await things.request({ action: 'retrieve', pk: alpha.pk, request_id: null }), reply('retrieve', data, 200, null));
  });

  test('extra keys are ignored (dcrf-client sends data: {} with retrieve and delete)', async () => {
    assert.deepEqual(
      await things.request({ action: 'retrieve', pk: alpha.pk, request_id: 24, extra: 'ignored', data: {} }),
      reply('retrieve', { pk: alpha.pk, name: 'alpha', counter: 0 }, 200, 24),
    );
    const doomed = (await things.request({ action: 'create', data: { name: 'doomed' }, request_id: 2 })).data;
    assert.deepEqual(await things.request({ action: 'delete', pk: doomed.pk, data: {}, request_id: 3 }), reply('delete', null, 204, 3));
  });
});

describe('section 4: errors (exact strings and statuses)', () => {
  test('no action key: 405, action null, request_id echoed', async () => {
    assert.deepEqual(
      await things.request({ pk: 1, request_id: 23 }),
      reply(null, null, 405, 23, ['Unable to find action in message body.']),
    );
    assert.deepEqual(
      await things.request({ action: null, request_id: 'x' }),
      reply(null, null, 405, 'x', ['Unable to find action in message body.']),
    );
    assert.deepEqual(await things.request({}), reply(null, null, 405, null, ['Unable to find action in message body.']));
  });

  test('no action key on users is 405 for an anonymous socket too: it is checked before permissions', async () => {
    const users = await TestSocket.open(`${app.wsUrl}/ws/users/`);
    assert.deepEqual(await users.request({ request_id: 9 }), reply(null, null, 405, 9, ['Unable to find action in message body.']));
    users.close();
  });

  test('unknown action: 405 with the exact string; names are case-sensitive', async () => {
    assert.deepEqual(
      await things.request({ action: 'nope', request_id: 22 }),
      reply('nope', null, 405, 22, ['Method "nope" not allowed.']),
    );
    assert.deepEqual(
      await things.request({ action: 'LIST', request_id: 25 }),
      reply('LIST', null, 405, 25, ['Method "LIST" not allowed.']),
    );
    assert.deepEqual(
      await things.request({ action: 'List', request_id: 26 }),
      reply('List', null, 405, 26, ['Method "List" not allowed.']),
    );
    // Names that exist on every JavaScript object are not actions.
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'receiveJson', 'getObject']) {
      assert.deepEqual(
        await things.request({ action: name, request_id: 27 }),
        reply(name, null, 405, 27, [`Method "${name}" not allowed.`]),
      );
    }
  });

  test('an action that is not a string: echoed as sent, 405 naming its JSON; 403 first where permissions refuse', async () => {
    assert.deepEqual(await things.request({ action: 5, request_id: 1 }), reply(5, null, 405, 1, ['Method "5" not allowed.']));
    assert.deepEqual(
      await things.request({ action: ['list'], request_id: 2 }),
      reply(['list'], null, 405, 2, ['Method "["list"]" not allowed.']),
    );
    const tricky = { toString: 1, valueOf: 2 };
    assert.deepEqual(
      await things.request({ action: tricky, request_id: 3 }),
      reply(tricky, null, 405, 3, ['Method "{"toString":1,"valueOf":2}" not allowed.']),
    );
    const users = await TestSocket.open(`${app.wsUrl}/ws/users/`);
    assert.deepEqual(await users.request({ action: tricky, request_id: 4 }), reply(tricky, null, 403, 4, [DENIED]));
    users.close();
  });

  test('permission denied: 403, checked before the unknown-action check', async () => {
    const users = await TestSocket.open(`${app.wsUrl}/ws/users/`);
    assert.deepEqual(await users.request({ action: 'list', request_id: 1 }), reply('list', null, 403, 1, [DENIED]));
    assert.deepEqual(await users.request({ action: 'retrieve', pk: 1, request_id: 2 }), reply('retrieve', null, 403, 2, [DENIED]));
    assert.deepEqual(await users.request({ action: 'me', request_id: 3 }), reply('me', null, 403, 3, [DENIED]));
    assert.deepEqual(await users.request({ action: 'nope', request_id: 4 }), reply('nope', null, 403, 4, [DENIED]));
    users.close();
    // With a token the same unknown action is a 405.
    const token = await app.token('alice');
    const authed = await TestSocket.open(`${app.wsUrl}/ws/users/`, { headers: { Authorization: `Bearer ${token}` } });
    assert.deepEqual(
      await authed.request({ action: 'nope', request_id: 14 }),
      reply('nope', null, 405, 14, ['Method "nope" not allowed.']),
    );
    authed.close();
  });

  test('a lookup miss or a pk of the wrong type: 404 ["Not found"]', async () => {
    const notFound = (action: string, id: unknown) => reply(action, null, 404, id, ['Not found']);
    assert.deepEqual(await things.request({ action: 'retrieve', pk: 9999, request_id: 12 }), notFound('retrieve', 12));
    assert.deepEqual(await things.request({ action: 'retrieve', pk: 'abc', request_id: 13 }), notFound('retrieve', 13));
    for (const pk of [null, true, 1.5, [alpha.pk], { pk: alpha.pk }, -1, 0, 1e300, '1e3', '99999999999999999999999']) {
      assert.deepEqual(
        await things.request({ action: 'retrieve', pk, request_id: 14 }),
        notFound('retrieve', 14),
        `pk ${JSON.stringify(pk)}`,
      );
    }
    assert.deepEqual(await things.request({ action: 'update', pk: 9999, data: { name: 'zz' }, request_id: 16 }), notFound('update', 16));
    assert.deepEqual(await things.request({ action: 'delete', pk: 9999, request_id: 21 }), notFound('delete', 21));
    // A list or object pk is a miss for every lookup action, even one carrying its own `toString`.
    for (const action of ['retrieve', 'update', 'patch', 'delete', 'subscribe_instance', 'unsubscribe_instance']) {
      for (const pk of [{ toString: 1 }, [{ toString: 1 }], [alpha.pk]]) {
        assert.deepEqual(
          await things.request({ action, pk, data: { name: 'x' }, request_id: 30 }),
          notFound(action, 30),
          `${action} ${JSON.stringify(pk)}`,
        );
      }
    }
    // A numeric string names the same row, as Django's lookups do.
    assert.equal((await things.request({ action: 'retrieve', pk: String(alpha.pk), request_id: 15 })).response_status, 200);
  });

  test('the lookup happens before validation: update/patch of an unknown pk with bad data is 404', async () => {
    assert.deepEqual(
      await things.request({ action: 'patch', pk: 9999, data: { counter: 'x' }, request_id: 19 }),
      reply('patch', null, 404, 19, ['Not found']),
    );
    assert.deepEqual(
      await things.request({ action: 'update', pk: 9999, data: { counter: 'x' }, request_id: 20 }),
      reply('update', null, 404, 20, ['Not found']),
    );
    assert.deepEqual(
      await things.request({ action: 'update', pk: 9999, data: 'str', request_id: 21 }),
      reply('update', null, 404, 21, ['Not found']),
    );
    assert.deepEqual(await things.request({ action: 'patch', pk: 9999, request_id: 22 }), reply('patch', null, 404, 22, ['Not found']));
  });

  test('validation: the DRF field map wrapped in a list', async () => {
    const invalid = (action: string, id: number, fields: Record<string, string[]>) => reply(action, null, 400, id, [fields]);
    assert.deepEqual(await things.request({ action: 'create', data: {}, request_id: 4 }), invalid('create', 4, { name: [REQUIRED] }));
    assert.deepEqual(
      await things.request({ action: 'create', data: { name: 'x'.repeat(65), counter: 'abc' }, request_id: 5 }),
      invalid('create', 5, { name: ['Ensure this field has no more than 64 characters.'], counter: ['A valid integer is required.'] }),
    );
    assert.deepEqual(
      await things.request({ action: 'create', data: { name: '' }, request_id: 6 }),
      invalid('create', 6, { name: ['This field may not be blank.'] }),
    );
    assert.deepEqual(
      await things.request({ action: 'create', data: { name: '   ' }, request_id: 7 }),
      invalid('create', 7, { name: ['This field may not be blank.'] }),
    );
    assert.deepEqual(
      await things.request({ action: 'create', data: { name: 'n', counter: 1.5 }, request_id: 8 }),
      invalid('create', 8, { counter: ['A valid integer is required.'] }),
    );
    assert.deepEqual(
      await things.request({ action: 'create', data: { name: null }, request_id: 9 }),
      invalid('create', 9, { name: ['This field may not be null.'] }),
    );
    for (const name of [true, ['x'], { a: 1 }]) {
      assert.deepEqual(
        await things.request({ action: 'create', data: { name }, request_id: 11 }),
        invalid('create', 11, { name: ['Not a valid string.'] }),
      );
    }
    // A number is a valid string, as in DRF.
    assert.equal((await things.request({ action: 'create', data: { name: 5 }, request_id: 12 })).data.name, '5');
    // Exactly the limit is fine.
    assert.equal((await things.request({ action: 'create', data: { name: 'x'.repeat(64) }, request_id: 10 })).response_status, 201);
  });

  test('text: NUL is refused; a lone surrogate is stored as U+FFFD; characters count as code points', async () => {
    assert.deepEqual(
      await things.request({ action: 'create', data: { name: 'a\u0000b' }, request_id: 1 }),
      reply('create', null, 400, 1, [{ name: ['Null characters are not allowed.'] }]),
    );
    const lone = await things.request({ action: 'create', data: { name: '\ud800x\udc00' }, request_id: 2 });
    assert.equal(lone.response_status, 201);
    assert.equal(lone.data.name, '\ufffdx\ufffd');
    assert.equal((await things.request({ action: 'retrieve', pk: lone.data.pk, request_id: 3 })).data.name, '\ufffdx\ufffd');
    const emoji = await things.request({ action: 'create', data: { name: '💥'.repeat(64) }, request_id: 4 });
    assert.equal(emoji.response_status, 201, '64 code points fit in 64 characters');
    assert.equal(emoji.data.name, '💥'.repeat(64));
  });

  test('integers outside the column range are refused with DRF words, not a database error', async () => {
    assert.deepEqual(
      await things.request({ action: 'create', data: { name: 'big', counter: 2 ** 31 }, request_id: 1 }),
      reply('create', null, 400, 1, [{ counter: ['Ensure this value is less than or equal to 2147483647.'] }]),
    );
    assert.deepEqual(
      await things.request({ action: 'patch', pk: alpha.pk, data: { counter: -(2 ** 31) - 1 }, request_id: 2 }),
      reply('patch', null, 400, 2, [{ counter: ['Ensure this value is greater than or equal to -2147483648.'] }]),
    );
    assert.deepEqual(
      await things.request({ action: 'patch', pk: alpha.pk, data: { counter: '1'.repeat(30) }, request_id: 3 }),
      reply('patch', null, 400, 3, [{ counter: ['A valid integer is required.'] }]),
    );
    const edge = await things.request({ action: 'create', data: { name: 'edge', counter: 2 ** 31 - 1 }, request_id: 4 });
    assert.equal(edge.data.counter, 2147483647);
    const classrooms = await TestSocket.open(`${app.wsUrl}/ws/classrooms/`);
    for (const school of [2 ** 31, 2 ** 53, -1, '99999999999999999999']) {
      const answer = await classrooms.request({ action: 'create', data: { name: 'room', school }, request_id: 5 });
      assert.equal(answer.response_status, 400, `school ${school}`);
      assert.match(answer.errors[0].school[0], /^Invalid pk ".+" - object does not exist\.$/);
    }
    classrooms.close();
  });

  test('data null, absent, or not an object', async () => {
    const noData = (action: string, id: number) => reply(action, null, 400, id, [{ non_field_errors: ['No data provided'] }]);
    const notDict = (action: string, id: number, type: string) =>
      reply(action, null, 400, id, [{ non_field_errors: [`Invalid data. Expected a dictionary, but got ${type}.`] }]);
    assert.deepEqual(await things.request({ action: 'create', data: null, request_id: 7 }), noData('create', 7));
    assert.deepEqual(await things.request({ action: 'create', request_id: 8 }), noData('create', 8));
    assert.deepEqual(await things.request({ action: 'update', pk: alpha.pk, request_id: 9 }), noData('update', 9));
    assert.deepEqual(await things.request({ action: 'patch', pk: alpha.pk, data: null, request_id: 10 }), noData('patch', 10));
    assert.deepEqual(await things.request({ action: 'create', data: 'str', request_id: 11 }), notDict('create', 11, 'str'));
    assert.deepEqual(await things.request({ action: 'create', data: [1], request_id: 12 }), notDict('create', 12, 'list'));
    assert.deepEqual(await things.request({ action: 'create', data: 5, request_id: 13 }), notDict('create', 13, 'int'));
    assert.deepEqual(await things.request({ action: 'create', data: true, request_id: 14 }), notDict('create', 14, 'bool'));
    assert.deepEqual(await things.request({ action: 'patch', pk: alpha.pk, data: 'str', request_id: 15 }), notDict('patch', 15, 'str'));
  });

  test('foreign keys: unknown pk and wrong type, with DRF words', async () => {
    const classrooms = await TestSocket.open(`${app.wsUrl}/ws/classrooms/`);
    assert.deepEqual(
      await classrooms.request({ action: 'create', data: { name: 'room', school: 9999 }, request_id: 1 }),
      reply('create', null, 400, 1, [{ school: ['Invalid pk "9999" - object does not exist.'] }]),
    );
    assert.deepEqual(
      await classrooms.request({ action: 'create', data: { name: 'room', school: 'abc' }, request_id: 2 }),
      reply('create', null, 400, 2, [{ school: ['Incorrect type. Expected pk value, received str.'] }]),
    );
    assert.deepEqual(
      await classrooms.request({ action: 'create', data: { name: '' }, request_id: 3 }),
      reply('create', null, 400, 3, [{ name: ['This field may not be blank.'], school: [REQUIRED] }]),
    );
    classrooms.close();
  });

  test('update is a full update: a required field missing is 400', async () => {
    assert.deepEqual(
      await things.request({ action: 'update', pk: alpha.pk, data: { counter: 2 }, request_id: 15 }),
      reply('update', null, 400, 15, [{ name: [REQUIRED] }]),
    );
  });
});

describe('section 5: frames DCRF closes the socket on are answered, and the socket stays open', () => {
  const stillAnswers = async (socket: TestSocket) => {
    const frame = await socket.request({ action: 'retrieve', pk: alpha.pk, request_id: 99 });
    assert.equal(frame.response_status, 200);
    assert.equal(frame.request_id, 99);
    assert.equal(frame.data.pk, alpha.pk);
  };

  test('invalid JSON, an empty frame, a binary frame (even holding valid JSON): 400, action null', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const invalid = async (send: () => void) => {
      send();
      const frame = await socket.next();
      assertEnvelope(frame);
      assert.equal(frame.response_status, 400);
      assert.equal(frame.action, null);
      assert.equal(frame.request_id, null);
      assert.equal(frame.data, null);
      const errors = frame.errors as string[];
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /^Invalid message: .+/);
      assert.ok(errors[0]!.length < 120, 'the reason is short');
      return errors[0]!;
    };
    const reason = await invalid(() => socket.send('not json'));
    assert.ok(!reason.includes('not json'), 'the reason does not quote the input');
    await invalid(() => socket.send('{"action": "list", "request_id": 1'));
    await invalid(() => socket.send('{"action":"retrieve","pk":1,"request_id":NaN}'));
    assert.equal(await invalid(() => socket.send('')), 'Invalid message: empty frame');
    await invalid(() => socket.ws.send(Buffer.from('{"action":"list","request_id":1}'), { binary: true }));
    await invalid(() => socket.ws.send(Buffer.from([0xff, 0x00, 0x12]), { binary: true }));
    await stillAnswers(socket);
    assert.equal(socket.closeCode, undefined);
    socket.close();
  });

  test('a JSON value that is not an object: 400 "expected a JSON object"', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    for (const text of ['[1,2]', '"list"', 'null', '42', 'true', '[]']) {
      assert.deepEqual(await socket.request(text), reply(null, null, 400, null, ['Invalid message: expected a JSON object']), text);
    }
    await stillAnswers(socket);
    socket.close();
  });

  test('a required key missing: 400 naming the key', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const missingPk = (action: string, id: number) => reply(action, null, 400, id, [{ pk: [REQUIRED] }]);
    assert.deepEqual(await socket.request({ action: 'retrieve', request_id: 2 }), missingPk('retrieve', 2));
    assert.deepEqual(await socket.request({ action: 'patch', data: { counter: 1 }, request_id: 3 }), missingPk('patch', 3));
    assert.deepEqual(await socket.request({ action: 'update', data: { name: 'x' }, request_id: 4 }), missingPk('update', 4));
    assert.deepEqual(await socket.request({ action: 'delete', request_id: 5 }), missingPk('delete', 5));
    await stillAnswers(socket);
    socket.close();
  });

  test('nesting deeper than 64: 400 "nested too deeply"; 64 is fine', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const ok = await socket.request(nestedFrame(64, { action: 'retrieve', pk: alpha.pk, request_id: 1 }));
    assert.equal(ok.response_status, 200);
    assert.deepEqual(
      await socket.request(nestedFrame(65, { action: 'retrieve', pk: alpha.pk, request_id: 1 })),
      reply(null, null, 400, null, ['Invalid message: nested too deeply']),
    );
    assert.deepEqual(
      await socket.request('['.repeat(100_000) + ']'.repeat(100_000)),
      reply(null, null, 400, null, ['Invalid message: nested too deeply']),
    );
    // Brackets inside strings do not count.
    const inString = await socket.request({ action: 'retrieve', pk: alpha.pk, request_id: '['.repeat(500) });
    assert.equal(inString.response_status, 200);
    await stillAnswers(socket);
    socket.close();
  });

  test('a frame over 1 MiB closes the socket 1009; one just under is answered', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const pad = (size: number) => {
      const head = JSON.stringify({ action: 'retrieve', pk: alpha.pk, request_id: 1, pad: '' });
      return `${head.slice(0, -2) + 'x'.repeat(size - head.length)}"}`;
    };
    const under = pad(1024 * 1024);
    assert.equal(Buffer.byteLength(under), 1024 * 1024);
    assert.equal((await socket.request(under)).response_status, 200);
    socket.send(pad(1024 * 1024 + 1));
    assert.equal(await socket.closed, 1009);
  });
});
