/**
 * Fuzzing the DCRF side over real sockets: thousands of random and mutated frames (random bytes,
 * truncated and mutated valid frames, wrong types in every key, huge numbers, `__proto__` and
 * `constructor` keys, deep nesting) on one multiplexed socket (authenticated) and one bare socket. Every frame the
 * server sends must be a well-formed envelope (or multiplexed wrapper), no action may fail with a 500
 * or log an error, and a fresh socket works afterwards.
 *
 * FUZZ_FRAMES sets the number of frames on the multiplexed socket (default 3000; the bare socket gets
 * a third as many); FUZZ_SEED replays a run (the seed is printed).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { logger } from '../../src/logger.js';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { assertEnvelope, assertMultiplexed } from '../helpers/dcrf.js';

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const BATCH = 100;

/** mulberry32: small, fast, seeded. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const chance = (p: number) => random() < p;

const STREAMS = ['things', 'things_with_id', 'tests', 'users', 'schools', 'classrooms', 'chat', 'hello'] as const;
const ACTIONS = [
  'list', 'retrieve', 'create', 'update', 'patch', 'delete', 'subscribe_instance', 'unsubscribe_instance',
  'subscribe_many', 'unsubscribe_many', 'subscribe_activity', 'unsubscribe_activity', 'list_cancel', 'me',
  'send_email', 'publish', 'subscribe_to_classrooms_in_school', 'subscribe_to_classroom',
  'unsubscribe_from_classrooms_in_school', 'unsubscribe_from_classroom', 'join_chat', 'subscribe_joined',
  'unsubscribe_joined', 'nope', 'LIST', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty',
  'receiveJson', 'disconnect', 'close', 'reply', 'groupAdd', 'valueOf',
] as const;
const KEYS = [
  'action', 'request_id', 'pk', 'data', 'limit', 'offset', 'query', 'things', 'chat_id', 'school_pk',
  'classroom_pk', 'to', 'stream', 'payload', '__proto__', 'constructor', 'prototype', 'toString', 'name',
  'counter', 'school', 'id', 'username', 'email', '',
] as const;
const STRINGS = [
  '', ' ', 'x', 'abc', '1', '-1', '0', '1.5', '1e3', 'NaN', 'null', 'true', '99999999999999999999999',
  '\u0000', '\ud800', '💥', 'é'.repeat(70), 'x'.repeat(200), '"', '\\', '<script>', "'; DROP TABLE things; --",
  '%s%n', '../../etc/passwd', '__proto__', 'constructor',
];
const NUMBERS = [0, -0, 1, 2, 3, -1, 1.5, 2 ** 31, 2 ** 31 - 1, -(2 ** 31) - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 1e21, 1e308, -1e308, 5e-324, 123456789];

/** A random JSON value, nested up to `depth`. */
function value(depth = 0): unknown {
  const roll = int(depth > 4 ? 6 : 9);
  switch (roll) {
    case 0:
      return null;
    case 1:
      return chance(0.5);
    case 2:
      return pick(NUMBERS);
    case 3:
      return int(50);
    case 4:
    case 5:
      return pick(STRINGS);
    case 6:
      return Array.from({ length: int(4) }, () => value(depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = int(5); i > 0; i--) object[pick(KEYS)] = value(depth + 1);
      return object;
    }
  }
}

/** Valid-looking data for the streams' writes, sometimes broken. */
function data(): unknown {
  if (chance(0.3)) return value(1);
  const object: Record<string, unknown> = {};
  if (chance(0.8)) object.name = chance(0.8) ? `fuzz ${int(1000)}` : value(2);
  if (chance(0.4)) object.counter = chance(0.7) ? int(100) : value(2);
  if (chance(0.3)) object.school = chance(0.7) ? int(10) : value(2);
  if (chance(0.1)) object.__proto__ = { name: 'polluted' };
  return object;
}

/** A DCRF payload: mostly a plausible action with some keys of the wrong type. */
function payload(): Record<string, unknown> {
  const frame: Record<string, unknown> = {};
  if (chance(0.95)) frame.action = chance(0.9) ? pick(ACTIONS) : value(1);
  if (chance(0.85)) frame.request_id = chance(0.8) ? int(1_000_000) : value(1);
  if (chance(0.6)) frame.pk = chance(0.7) ? int(30) : value(1);
  if (chance(0.4)) frame.data = data();
  if (chance(0.15)) frame.limit = chance(0.5) ? int(5) : value(1);
  if (chance(0.15)) frame.offset = chance(0.5) ? int(30) : value(1);
  if (chance(0.1)) frame.query = value(1);
  if (chance(0.1)) frame.things = chance(0.5) ? [int(10), int(10)] : value(1);
  if (chance(0.1)) frame.chat_id = value(1);
  if (chance(0.1)) frame.school_pk = value(1);
  if (chance(0.1)) frame.classroom_pk = value(1);
  for (let i = int(3); i > 0; i--) frame[pick(KEYS)] = value(1);
  return frame;
}

function nested(depth: number): string {
  const open = Array.from({ length: depth }, () => (chance(0.5) ? '[' : '{"a":'));
  const close = open.map((token) => (token === '[' ? ']' : '}')).reverse();
  return open.join('') + '1' + close.join('');
}

type Outgoing = { text: string } | { binary: Buffer };

/** One fuzz frame. `wrap` turns a payload into the socket's frame shape. */
function frame(wrap: (payload: unknown) => unknown): Outgoing {
  const kind = int(100);
  if (kind < 5) return { binary: Buffer.from(Array.from({ length: int(64) }, () => int(256))) };
  if (kind < 7) return { binary: Buffer.from(JSON.stringify(wrap(payload()))) };
  if (kind < 12) return { text: Array.from({ length: int(40) }, () => String.fromCharCode(int(0x3000))).join('') };
  if (kind < 22) {
    const text = JSON.stringify(wrap(payload()));
    return { text: text.slice(0, int(text.length)) };
  }
  if (kind < 32) {
    const chars = [...JSON.stringify(wrap(payload()))];
    for (let i = 1 + int(3); i > 0; i--) chars[int(chars.length)] = pick(['{', '}', '[', ']', '"', ',', ':', '\\', '0', 'a', ' ', 'n']);
    return { text: chars.join('') };
  }
  if (kind < 36) return { text: JSON.stringify(value(0)) };
  if (kind < 39) {
    const depth = 55 + int(20);
    return { text: chance(0.5) ? nested(depth) : `{"action":"create","request_id":1,"data":${nested(depth)}}` };
  }
  if (kind < 41) return { text: JSON.stringify(wrap({ ...payload(), pk: pick(['1'.repeat(400), 1e308, -1e308, 2 ** 53 + 2]) })) };
  if (kind < 42) return { text: `{"action":"list","request_id":${'9'.repeat(int(400) + 1)}}` };
  if (kind < 43) return { text: JSON.stringify(wrap({ action: pick(ACTIONS), request_id: 1, data: { name: 'x'.repeat(int(200_000)) } })) };
  if (kind < 45) return { text: '{"__proto__":{"action":"list","request_id":1},"constructor":{"prototype":{"x":1}}}' };
  return { text: JSON.stringify(wrap(payload())) };
}

let app: TestApp;
const errorLines: string[] = [];
const writeStderr = process.stderr.write.bind(process.stderr);

before(async () => {
  // Any error the server logs while fuzzing is a bug (500s, failed frames, failed event deliveries).
  process.env.LOG_LEVEL = 'error';
  logger.reconfigure();
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = chunk.toString();
    if (text.includes('"level":"error"')) errorLines.push(text.trim());
    return writeStderr(chunk as string, ...(rest as []));
  }) as typeof process.stderr.write;
  // The rate limit would answer most fuzz frames 429 before they reach an action; lift it here.
  app = await startTestApp({ gateway: { limits: { ratePerSecond: 1e9, rateBurst: 1e9 } } });
});
after(async () => {
  process.stderr.write = writeStderr;
  await app.close();
});

/** A raw socket that checks every frame it receives with `check`. */
class FuzzSocket {
  readonly ws: WebSocket;
  readonly received: unknown[] = [];
  readonly problems: string[] = [];
  closeCode: number | undefined;
  private waiting: { id: string; resolve: () => void } | undefined;

  constructor(url: string, check: (frame: unknown) => void, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on('error', () => undefined);
    this.ws.on('close', (code) => (this.closeCode = code));
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.problems.push('the server sent a binary frame');
        return;
      }
      let parsed: any;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        this.problems.push(`not JSON: ${data.toString().slice(0, 200)}`);
        return;
      }
      try {
        check(parsed);
      } catch (error) {
        this.problems.push(`${(error as Error).message.slice(0, 300)} in ${data.toString().slice(0, 300)}`);
      }
      if (parsed?.payload?.response_status === 500 || parsed?.response_status === 500) {
        this.problems.push(`500: ${data.toString().slice(0, 300)}`);
      }
      this.received.push(parsed);
      const requestId = parsed?.payload?.request_id ?? parsed?.request_id;
      if (this.waiting && requestId === this.waiting.id) this.waiting.resolve();
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
    });
  }

  send(out: Outgoing): void {
    if ('binary' in out) this.ws.send(out.binary, { binary: true });
    else this.ws.send(out.text);
  }

  /** Sends a frame whose reply carries `id` and waits for it: every frame before it was handled. */
  sync(text: string, id: string, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${id} within ${timeoutMs} ms (close ${this.closeCode})`)), timeoutMs);
      this.waiting = {
        id,
        resolve: () => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve();
        },
      };
      this.ws.send(text);
    });
  }
}

async function fuzz(url: string, count: number, multiplexed: boolean, headers: Record<string, string> = {}): Promise<FuzzSocket> {
  const wrap = multiplexed
    ? (inner: unknown) => (chance(0.92) ? { stream: chance(0.95) ? pick(STREAMS) : value(1), payload: inner } : chance(0.5) ? inner : { stream: pick(STREAMS) })
    : (inner: unknown) => inner;
  const socket = new FuzzSocket(url, multiplexed ? (frame) => assertMultiplexed(frame) : (frame) => assertEnvelope(frame), headers);
  await socket.opened();
  for (let sent = 0, batch = 0; sent < count; batch++) {
    for (let i = 0; i < BATCH && sent < count; i++, sent++) socket.send(frame(wrap));
    const id = `sync-${batch}`;
    const probe = { action: 'retrieve', pk: 'sync', request_id: id };
    await socket.sync(JSON.stringify(multiplexed ? { stream: 'things', payload: probe } : probe), id);
    assert.equal(socket.closeCode, undefined, `the socket closed (${socket.closeCode}) in batch ${batch}`);
  }
  return socket;
}

test(`fuzz: ${FRAMES} frames on /ws (alice), ${Math.ceil(FRAMES / 3)} on /ws/things (anonymous) (seed ${SEED})`, async (t) => {
  t.diagnostic(`FUZZ_SEED=${SEED} FUZZ_FRAMES=${FRAMES}`);
  const started = Date.now();
  // The multiplexed socket is alice's, so the users stream runs its actions instead of refusing them.
  const mux = await fuzz(`${app.wsUrl}/ws`, FRAMES, true, { Authorization: `Bearer ${await app.token('alice')}` });
  const bare = await fuzz(`${app.wsUrl}/ws/things/`, Math.ceil(FRAMES / 3), false);
  t.diagnostic(`${mux.received.length + bare.received.length} frames received in ${Date.now() - started} ms`);
  assert.deepEqual([...mux.problems, ...bare.problems].slice(0, 10), [], `seed ${SEED}`);
  assert.ok(mux.received.length >= FRAMES, 'every frame was answered');
  assert.deepEqual(errorLines.slice(0, 5), [], `the server logged errors (seed ${SEED})`);
  mux.ws.close();
  bare.ws.close();
});

test('after the fuzz a fresh socket works: create and retrieve', async () => {
  const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const created = await socket.request({ action: 'create', data: { name: 'after fuzz' }, request_id: 1 });
  assert.equal(created.response_status, 201);
  const retrieved = await socket.request({ action: 'retrieve', pk: created.data.pk, request_id: 2 });
  assert.deepEqual(retrieved.data, { pk: created.data.pk, name: 'after fuzz', counter: 0 });
  socket.close();
  const mux = await TestSocket.open(`${app.wsUrl}/ws`);
  const listed = await mux.request({ stream: 'tests', payload: { action: 'create', data: { name: 'after fuzz' }, request_id: 3 } });
  assert.equal(listed.payload.response_status, 201);
  mux.close();
});

test('oversized frames close 1009; invalid UTF-8 in a text frame closes 1007 (RFC 6455); others are unaffected', async () => {
  const bystander = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  for (const path of ['/ws', '/ws/things/']) {
    const big = await TestSocket.open(`${app.wsUrl}${path}`);
    big.send('{"action":"list","x":"' + 'x'.repeat(1024 * 1024) + '"}');
    assert.equal(await big.closed, 1009, path);
  }
  const broken = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  broken.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  assert.equal(await broken.closed, 1007);
  assert.equal((await bystander.request({ action: 'list', request_id: 1 })).response_status, 200);
  bystander.close();
});
