/**
 * Hostile input: SQL-like and prototype-pollution payloads in every argument of create / patch /
 * retrieve / list change nothing they should not (tables intact, other rows untouched,
 * Object.prototype clean, every reply a well-formed envelope, never a 500), and huge or deeply nested
 * frames are refused without holding up other sockets.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { metric, scrape } from '../helpers/hardening.js';

const ENVELOPE_KEYS = ['action', 'data', 'errors', 'request_id', 'response_status'];

/** JSON texts spliced verbatim into frames, so `__proto__` arrives as an own key as an attacker would send it. */
const PAYLOADS = [
  `"'; DROP TABLE things; --"`,
  `"1; DROP TABLE things"`,
  `"1 OR 1=1"`,
  `"' OR '1'='1"`,
  `"things\\"; DELETE FROM things; --"`,
  `"__proto__"`,
  `"constructor"`,
  `"prototype"`,
  `"hasOwnProperty"`,
  `{"__proto__": {"polluted": "yes", "counter": 99}}`,
  `{"constructor": {"prototype": {"polluted": "yes"}}}`,
  `["__proto__", "polluted"]`,
  `{"$ne": null, "$gt": ""}`,
  `{"toString": "x", "valueOf": 1}`,
  `"\\u0000"`,
  `1e309`,
  `-1`,
  `9007199254740993`,
  `[[[[[["deep"]]]]]]`,
  `null`,
  `true`,
];

/** The payload as an object key: string payloads as themselves, anything else as `__proto__`. */
function keyOf(payload: string): string {
  const value: unknown = JSON.parse(payload);
  return typeof value === 'string' ? payload : '"__proto__"';
}

function assertEnvelope(frame: unknown, where: string): asserts frame is Record<string, any> {
  assert.ok(frame && typeof frame === 'object' && !Array.isArray(frame), `${where}: not an object`);
  assert.deepEqual(Object.keys(frame).sort(), ENVELOPE_KEYS, `${where}: keys`);
  const record = frame as Record<string, any>;
  assert.ok(Array.isArray(record.errors), `${where}: errors`);
  assert.ok(
    [200, 201, 400, 404, 405].includes(record.response_status),
    `${where}: status ${record.response_status} ${JSON.stringify(record.errors)}`,
  );
}

function assertPrototypesClean(): void {
  assert.deepEqual(
    Object.getOwnPropertyNames(Object.prototype).filter((name) => !BUILTIN_OBJECT_PROTO.has(name)),
    [],
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(({} as Record<string, unknown>).counter, undefined);
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
}

const BUILTIN_OBJECT_PROTO = new Set(Object.getOwnPropertyNames(Object.prototype));

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

test('SQL-like and prototype-pollution payloads in every argument change nothing and get well-formed replies', async () => {
  const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const mux = await TestSocket.open(`${app.wsUrl}/ws`);
  const sentinel = (await socket.request({ action: 'create', data: { name: 'sentinel', counter: 7 }, request_id: 's' })).data;
  const victim = (await socket.request({ action: 'create', data: { name: 'victim' }, request_id: 'v' })).data;
  const testRow = (await mux.request({ stream: 'tests', payload: { action: 'create', data: { name: 'other table' }, request_id: 't' } }))
    .payload.data;

  const frames: string[] = [];
  for (const p of PAYLOADS) {
    frames.push(
      `{"action": "create", "data": ${p}, "request_id": 1}`,
      `{"action": "create", "data": {"name": ${p}}, "request_id": 2}`,
      `{"action": "create", "data": {"name": "ok", "counter": ${p}}, "request_id": 3}`,
      `{"action": "create", "data": {"name": "ok", ${keyOf(p)}: ${p}}, "request_id": 4}`,
      `{"action": "patch", "pk": ${p}, "data": {"name": "hacked"}, "request_id": 5}`,
      `{"action": "patch", "pk": ${victim.pk}, "data": ${p}, "request_id": 6}`,
      `{"action": "patch", "pk": ${victim.pk}, "data": {"name": ${p}}, "request_id": 7}`,
      `{"action": "patch", "pk": ${victim.pk}, "data": {"counter": ${p}, "__proto__": {"name": "x"}}, "request_id": 8}`,
      `{"action": "retrieve", "pk": ${p}, "request_id": 9}`,
      `{"action": "list", "limit": ${p}, "offset": ${p}, "query": ${p}, "request_id": 10}`,
      `{"action": ${p}, "pk": ${p}, "request_id": ${p}}`,
      `{"action": "retrieve", "pk": ${victim.pk}, "__proto__": ${p}, "constructor": ${p}, "request_id": 11}`,
    );
  }
  frames.push(
    `{"__proto__": {"action": "list"}, "request_id": 12}`,
    `{"action": "__proto__"}`,
    `{"action": "constructor"}`,
    `{"action": "toString"}`,
  );

  const created: Array<Record<string, unknown>> = [];
  for (const [index, text] of frames.entries()) {
    socket.send(text);
    const answer = await socket.next();
    assertEnvelope(answer, `frame ${index} ${text}`);
    if (answer.action === 'create' && answer.response_status === 201) created.push(answer.data);
    if (typeof answer.data === 'object' && answer.data && 'counter' in answer.data)
      assert.notEqual(answer.data.counter, 99, `${text} took a value from a __proto__ key`);
  }
  // The same through the multiplexer, including stream names that are Object.prototype's keys.
  for (const p of PAYLOADS.slice(0, 12)) {
    for (const stream of ['things', '__proto__', 'constructor', 'hasOwnProperty']) {
      mux.send(`{"stream": ${JSON.stringify(stream)}, "payload": {"action": "retrieve", "pk": ${p}, "request_id": ${p}}}`);
      const answer = await mux.next();
      assert.deepEqual(Object.keys(answer).sort(), ['payload', 'stream']);
      assertEnvelope(answer.payload, `mux ${stream} ${p}`);
      if (stream !== 'things') assert.deepEqual(answer.payload.errors, [`Unknown stream "${stream}".`]);
    }
  }

  assertPrototypesClean();
  for (const table of ['things', 'tests', 'users', 'tokens', 'schools', 'classrooms'])
    assert.ok(await app.knex.schema.hasTable(table), `table ${table} still exists`);
  // The sentinel and the other table's row are untouched; created rows hold the payload text as plain data.
  assert.deepEqual(await socket.request({ action: 'retrieve', pk: sentinel.pk, request_id: 'r' }), reply('retrieve', sentinel, 200, 'r'));
  assert.deepEqual(
    (await mux.request({ stream: 'tests', payload: { action: 'retrieve', pk: testRow.id, request_id: 'r' } })).payload.data,
    testRow,
  );
  const [{ count }] = (await app.knex('things').count({ count: '*' })) as Array<{ count: number | string }>;
  assert.equal(Number(count), 2 + created.length);
  const stored = (await app
    .knex('things')
    .whereIn(
      'id',
      created.map((row) => row.pk as number),
    )
    .select('name')) as Array<{ name: string }>;
  assert.ok(
    stored.some((row) => row.name === "'; DROP TABLE things; --"),
    'the SQL-like text was stored verbatim',
  );
  const text = await scrape(app.url);
  assert.equal(metric(text, 'dcrf_gateway_dcrf_actions_total', { stream: 'things', action: 'create', status: '500' }), 0);
  socket.close();
  mux.close();
});

test('a 1 MB deeply nested frame is refused 400 without parsing it; another socket is answered meanwhile', async () => {
  const deep = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const other = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const depth = 500_000;
  const nested = `{"action": "list", "request_id": "deep", "x": ${'['.repeat(depth)}${']'.repeat(depth)}}`;
  for (let i = 0; i < 5; i++) deep.send(nested);
  other.send({ action: 'list', request_id: 'other' });
  const answers: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 5; i++) answers.push(await deep.next(10_000));
  assert.equal((await other.next(10_000)).request_id, 'other');
  for (const answer of answers) assert.deepEqual(answer, reply(null, null, 400, null, ['Invalid message: nested too deeply']));
  // Brackets inside a string are text, not nesting.
  const inString = await deep.request({ action: 'list', request_id: 'str', x: '['.repeat(10_000) });
  assert.equal(inString.response_status, 200);
  // An unclosed deep prefix is refused the same way.
  deep.send(`{"a":${'['.repeat(100_000)}`);
  assert.deepEqual(await deep.next(), reply(null, null, 400, null, ['Invalid message: nested too deeply']));
  assert.equal(deep.closeCode, undefined);
  deep.close();
  other.close();
});

test('a wide frame just under the size limit is parsed and answered; binary and non-object frames are 400', async () => {
  const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const wide: Record<string, unknown> = { action: 'list', request_id: 'wide' };
  for (let i = 0; wide && JSON.stringify(wide).length < 1_000_000; i++) wide[`k${i}`] = 'v'.repeat(1000);
  const answer = await socket.request(wide, 10_000);
  assert.equal(answer.response_status, 200);
  assert.equal(answer.request_id, 'wide');
  socket.ws.send(Buffer.from(JSON.stringify({ action: 'list', request_id: 'bin' })), { binary: true });
  assert.deepEqual(await socket.next(), reply(null, null, 400, null, ['Invalid message: binary frames are not accepted']));
  for (const text of ['[]', '"s"', '42', 'null', '']) {
    assertEnvelope(await socket.request(text), `non-object ${text}`);
  }
  assert.equal(socket.closeCode, undefined);
  socket.close();
});
