/**
 * A GraphQL client that stops reading cannot make the server keep what it owes it: the attacks of
 * issue 12 item 2, run against `dcrf-gateway serve` in a child process with its default limits, leave
 * the server's RSS within +32 MiB, and the attacker's socket is closed 1013 (its unsent output passed
 * MAX_BUFFERED_BYTES, 4 MiB).
 *
 * Why the RSS of a child process rather than the heap of this one: what piled up was not only on the
 * V8 heap (results queued as Buffers in `ws`, messages held as strings behind a stalled send), and the
 * test process holds the attacking clients' own buffers; the server's RSS, read from /proc, counts all
 * of the server's memory and nothing of the clients'. RSS rarely shrinks, so the peak seen while the
 * attack runs is what the server took. The server runs on SQLite with the in-process PubSub in both
 * passes: nothing here touches the database beyond startup, so the PostgreSQL pass adds nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { GatewayProcess } from '../helpers/scaleout.js';
import { metric } from '../helpers/hardening.js';

const MiB = 1024 * 1024;
const RSS_BOUND = 32 * MiB;
const skip =
  process.platform !== 'linux'
    ? 'reads the server RSS from /proc (Linux only)'
    : process.env.TEST_DATABASE_URL
      ? 'database-independent: runs in the SQLite pass'
      : false;

/** A small document with a large result: 30 aliases of the schema's types and fields (about 450 KB of JSON). */
const BIG_RESULT_QUERY = `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: __schema { types { name description kind fields { name description type { name kind } } } }`).join(' ')} }`;

let dir: string;
let server: GatewayProcess;
before(async () => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-gateway-memory-'));
  server = await GatewayProcess.start({
    DATABASE_URL: `sqlite:${path.join(dir, 'memory.sqlite3')}`,
    REDIS_URL: '',
    TOKEN_SECRET_FILE: path.join(dir, 'token-secret'),
  });
});
after(async () => {
  if (skip) return;
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The close code of a socket, or -1 when it is still open after 5 s (a test fails, it does not hang). */
function closeCode(closed: Promise<number>): Promise<number> {
  return Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5000).unref())]);
}

/** The server's resident memory in bytes. */
function rss(): number {
  const status = fs.readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  assert.ok(match, 'VmRSS in /proc/<pid>/status');
  return Number(match[1]) * 1024;
}

/** Opens a GraphQL socket of `protocol`, initialised (acknowledged), still reading. */
async function initialised(protocol: 'graphql-transport-ws' | 'graphql-ws'): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`${server.wsUrl}/graphql`, [protocol]);
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
  });
  const acked = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  ws.send(JSON.stringify({ type: 'connection_init' }));
  await acked;
  return { ws, closed };
}

/** Runs the big query 30 times with a client that reads: the server's caches are warm and its heap has grown to what executing it takes. */
async function warmUp(): Promise<void> {
  const { ws } = await initialised('graphql-transport-ws');
  for (let i = 0; i < 30; i++) {
    const completed = new Promise<void>((resolve) => {
      const onMessage = (data: Buffer) => {
        if (JSON.parse(data.toString()).type !== 'complete') return;
        ws.off('message', onMessage);
        resolve();
      };
      ws.on('message', onMessage);
    });
    ws.send(JSON.stringify({ id: `warm${i}`, type: 'subscribe', payload: { query: BIG_RESULT_QUERY } }));
    await completed;
  }
  ws.close();
}

/** A counter of the server's /metrics: the slow consumers it closed, or the sockets closed for too many waiting messages. */
async function closes(kind: 'slow_consumer' | 'inbound_queue'): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return kind === 'slow_consumer'
    ? metric(text, 'dcrf_gateway_slow_consumer_closes_total')
    : metric(text, 'dcrf_gateway_limit_hits_total', { limit: 'inbound_queue' });
}

/**
 * Samples the server's RSS every 50 ms until its `kind` counter passed `before` (it closed the
 * attacker) or `timeoutMs` passed, checking that /healthz answers meanwhile. Resolves with the peak.
 */
async function watch(
  kind: 'slow_consumer' | 'inbound_queue',
  before: number,
  timeoutMs: number,
): Promise<{ peak: number; closedByServer: boolean }> {
  let peak = rss();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    peak = Math.max(peak, rss());
    if ((await closes(kind)) > before) return { peak: Math.max(peak, rss()), closedByServer: true };
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  }
  return { peak, closedByServer: false };
}

test('graphql-transport-ws: 200 small queries from a client that never reads leave RSS within +32 MiB; closed 1013', {
  skip,
}, async (t) => {
  await warmUp();
  const baseline = rss();
  const before = await closes('slow_consumer');
  const { ws, closed } = await initialised('graphql-transport-ws');
  ws.pause();
  for (let i = 0; i < 200; i++) ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: BIG_RESULT_QUERY } }));
  const { peak, closedByServer } = await watch('slow_consumer', before, 20_000);
  ws.resume();
  const grew = peak - baseline;
  t.diagnostic(
    `server RSS ${(baseline / MiB).toFixed(1)} MiB before, peak ${(peak / MiB).toFixed(1)} MiB (+${(grew / MiB).toFixed(1)} MiB)`,
  );
  assert.ok(grew < RSS_BOUND, `RSS grew by ${(grew / MiB).toFixed(1)} MiB (bound ${RSS_BOUND / MiB} MiB)`);
  assert.ok(closedByServer, 'the server closed the stalled socket as a slow consumer');
  // The server sends 1013, then drops a peer that has not read it within its close grace (1 s): this
  // client reads nothing until it resumes, which a loaded machine can delay past the grace (1006).
  assert.ok([1013, 1006].includes(await closeCode(closed)), 'closed 1013, or dropped after the close grace');
});

test('legacy graphql-ws: 900 KB messages behind a stalled output leave RSS within +32 MiB; closed 1008', { skip }, async (t) => {
  const baseline = rss();
  const before = await closes('inbound_queue');
  const { ws, closed } = await initialised('graphql-ws');
  ws.pause();
  // Results enough to fill the kernel's buffers and stall the output, then 100 messages of 900 KB: they
  // wait behind the queries, and more than MAX_RETAINED_BYTES (1 MiB) of them close the socket.
  for (let i = 0; i < 40; i++) ws.send(JSON.stringify({ id: `big${i}`, type: 'start', payload: { query: BIG_RESULT_QUERY } }));
  const padding = ' '.repeat(900 * 1024);
  for (let i = 0; i < 100; i++) ws.send(JSON.stringify({ id: `pad${i}`, type: 'start', payload: { query: `${padding}{ __typename }` } }));
  const { peak, closedByServer } = await watch('inbound_queue', before, 20_000);
  ws.resume();
  const grew = peak - baseline;
  t.diagnostic(
    `server RSS ${(baseline / MiB).toFixed(1)} MiB before, peak ${(peak / MiB).toFixed(1)} MiB (+${(grew / MiB).toFixed(1)} MiB)`,
  );
  assert.ok(grew < RSS_BOUND, `RSS grew by ${(grew / MiB).toFixed(1)} MiB (bound ${RSS_BOUND / MiB} MiB)`);
  assert.ok(closedByServer, 'the server closed the socket for too many waiting bytes');
  // The server sends 1008, then drops a peer that has not read it within its close grace (1 s): this
  // client reads nothing until it resumes, which a loaded machine can delay past the grace (1006).
  assert.ok([1008, 1006].includes(await closeCode(closed)), 'closed 1008, or dropped after the close grace');
});
