/**
 * Fuzzing the DCRF side over real sockets: thousands of random and mutated frames (random bytes,
 * truncated and mutated valid frames, wrong types in every key, huge numbers, `__proto__` and
 * `constructor` keys, deep nesting) on one multiplexed socket (authenticated) and one bare socket. Every frame the
 * server sends must be a well-formed envelope (or multiplexed wrapper), no action may fail with a 500
 * or log an error, and a fresh socket works afterwards.
 *
 * The frames come from test/helpers/dcrf-fuzz.ts, shared with `npm run fuzz`.
 * FUZZ_FRAMES sets the number of frames on the multiplexed socket (default 3000; the bare socket gets
 * a third as many); FUZZ_SEED replays a run (the seed is printed).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { logger } from '../../src/logger.js';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { assertEnvelope, assertMultiplexed } from '../helpers/dcrf.js';
import { DcrfFuzzer, type FuzzFrame } from '../helpers/dcrf-fuzz.js';

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const BATCH = 100;

const fuzzer = new DcrfFuzzer(SEED);

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

  send(out: FuzzFrame): void {
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
  const socket = new FuzzSocket(url, multiplexed ? (frame) => assertMultiplexed(frame) : (frame) => assertEnvelope(frame), headers);
  await socket.opened();
  for (let sent = 0, batch = 0; sent < count; batch++) {
    for (let i = 0; i < BATCH && sent < count; i++, sent++) socket.send(fuzzer.next(multiplexed));
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
    big.send(`{"action":"list","x":"${'x'.repeat(1024 * 1024)}"}`);
    assert.equal(await big.closed, 1009, path);
  }
  const broken = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  broken.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  assert.equal(await broken.closed, 1007);
  assert.equal((await bystander.request({ action: 'list', request_id: 1 })).response_status, 200);
  bystander.close();
});
