#!/usr/bin/env node
// `npm run fuzz`: the long DCRF fuzz run. Starts the demo app (its own SQLite file, in-process PubSub)
// and sends generated and mutated DCRF frames over several real sockets, bare and multiplexed, in
// every stream: valid frames with hostile values (SQL-like text, `__proto__`/`constructor` keys, huge
// and odd numbers, deep nesting), mutations of valid frames (truncation, byte flips, splices), and
// raw junk, text and binary. Every frame the server sends must be a well-formed DCRF envelope (bare or
// wrapped), no action may answer 500 or log an error, no socket may be closed on us, Object.prototype
// must stay clean and /healthz must answer at the end. Prints progress and memory before/after.
// Meanwhile GraphQL documents (test/helpers/graphql-fuzz.ts: fragment chains, alias bombs, nested lists,
// deep nesting, introspection, junk) go over HTTP, graphql-transport-ws and legacy graphql-ws: never a
// 5xx or INTERNAL_SERVER_ERROR, never a closed socket, always an answer, /healthz within FUZZ_HEALTH_MS.
//
// Environment: FUZZ_FRAMES (default 100000), FUZZ_SECONDS (time bound, default 600), FUZZ_SOCKETS
// (default 8), FUZZ_GRAPHQL_DOCS (GraphQL requests per protocol, default 20000), FUZZ_HEALTH_MS
// (default 2000), FUZZ_SEED (replays a run; the seed is printed). Exit code 1 on any finding.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';

process.env.LOG_LEVEL ??= 'error';
const { startDemo } = await import('../src/demo/app.ts');
const { loadConfig } = await import('../src/config.ts');

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 600);
const SOCKETS = Number(process.env.FUZZ_SOCKETS ?? 8);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const GRAPHQL_DOCS = Number(process.env.FUZZ_GRAPHQL_DOCS ?? 20_000);
const HEALTH_MS = Number(process.env.FUZZ_HEALTH_MS ?? 2000);
const { fuzzGraphQL } = await import('../test/helpers/graphql-fuzz.ts');
/** Frames sent on a socket before it waits for a sync reply (keeps every socket's backlog bounded). */
const WINDOW = 50;

// ---- seeded randomness -------------------------------------------------------------------------
function prng(seed) {
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
const int = (n) => Math.floor(random() * n);
const pick = (items) => items[int(items.length)];
const chance = (p) => random() < p;

// ---- what frames are made of -------------------------------------------------------------------
const STREAMS = ['things', 'things_with_id', 'tests', 'users', 'schools', 'classrooms', 'chat', 'hello'];
const ACTIONS = [
  'list', 'retrieve', 'create', 'update', 'patch', 'delete', 'subscribe_instance', 'unsubscribe_instance',
  'subscribe_many', 'unsubscribe_many', 'subscribe_activity', 'unsubscribe_activity', 'list_cancel', 'send_email',
  'publish', 'me', 'subscribe_to_classrooms_in_school', 'subscribe_to_classroom', 'unsubscribe_from_classrooms_in_school',
  'unsubscribe_from_classroom', 'join_chat', 'subscribe_joined', 'unsubscribe_joined',
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', ' list', 'LIST', 'list\u0000',
];
const KEYS = ['pk', 'data', 'limit', 'offset', 'query', 'request_id', 'things', 'school_pk', 'classroom_pk', 'chat_id', 'to', 'name', '__proto__', 'constructor', 'prototype', 'stream', 'payload', 'action'];
const FIELDS = ['name', 'counter', 'school', 'username', 'email', 'id', 'pk', '__proto__', 'constructor', 'is_active'];
const STRINGS = [
  '', ' ', 'a', 'x'.repeat(65), 'x'.repeat(101), 'x'.repeat(5000), "'; DROP TABLE things; --", '1 OR 1=1', "' OR '1'='1", '1; DELETE FROM users',
  '__proto__', 'constructor', 'prototype', '\u0000', '\ud800', '💥', 'null', 'undefined', 'NaN', '1', '-1', '1e309', '0x10', ' 7 ', '7abc',
  '<script>alert(1)</script>', '${7*7}', '{{7*7}}', '../../etc/passwd', 'a@b.c', 'not-an-email',
];
const NUMBERS = [0, 1, 2, 3, 7, -1, -0, 1.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 53), 1e308, Number.MIN_VALUE, 999_999_999];

function value(depth = 0) {
  const roll = int(depth > 3 ? 6 : 10);
  if (roll === 0) return null;
  if (roll === 1) return chance(0.5);
  if (roll === 2 || roll === 3) return pick(NUMBERS);
  if (roll === 4 || roll === 5) return pick(STRINGS);
  if (roll === 6 || roll === 7) return Array.from({ length: int(4) }, () => value(depth + 1));
  const object = {};
  for (let i = int(4); i > 0; i--) object[chance(0.3) ? pick(FIELDS) : pick(KEYS)] = value(depth + 1);
  return object;
}

function dataValue() {
  if (chance(0.2)) return value();
  const data = {};
  for (let i = int(4); i >= 0; i--) data[pick(FIELDS)] = chance(0.6) ? (chance(0.5) ? pick(STRINGS.slice(0, 4)) : pick(NUMBERS.slice(0, 5))) : value(1);
  return data;
}

/** A frame as an object: mostly plausible (known action, usual keys), with hostile values. */
function frameObject() {
  const frame = { action: chance(0.9) ? pick(ACTIONS.slice(0, 23)) : pick(ACTIONS) };
  if (chance(0.8)) frame.request_id = chance(0.8) ? int(1e6) : value(2);
  if (chance(0.6)) frame.pk = chance(0.6) ? 1 + int(20) : value(2);
  if (chance(0.5)) frame.data = dataValue();
  for (let i = int(3); i > 0; i--) frame[pick(KEYS)] = value(1);
  if (chance(0.05)) delete frame.action;
  return frame;
}

/** Object → text, with keys like `__proto__` kept as own keys, as an attacker's JSON would carry them. */
function frameText(object) {
  let text = JSON.stringify(object);
  if (chance(0.1)) text = text.replace(/^\{/, `{"__proto__": ${JSON.stringify(value(1))}, `).replace(/, \}$/, '}');
  if (chance(0.05)) text = text.replace(/^\{/, '{"constructor": {"prototype": {"polluted": 1}}, ').replace(/, \}$/, '}');
  return text;
}

function mutate(text) {
  const chars = [...text];
  switch (int(7)) {
    case 0: return text.slice(0, int(text.length));
    case 1: for (let i = 1 + int(4); i > 0; i--) chars[int(chars.length)] = String.fromCharCode(int(128)); return chars.join('');
    case 2: { const at = int(text.length); return text.slice(0, at) + text.slice(int(text.length)) + text.slice(at); }
    case 3: return text.replace(/"/g, () => (chance(0.1) ? "'" : '"'));
    case 4: return text.replace(/\d+/g, () => pick(['1e999', '-0', '00', '9'.repeat(30), '0.5', 'NaN']));
    case 5: { const depth = 10 + int(200); return text.replace(/:\s*/, `:${'['.repeat(depth)}1${']'.repeat(depth)}`); }
    default: return `${text}${text}`;
  }
}

function junk() {
  switch (int(6)) {
    case 0: return '';
    case 1: return pick(['null', 'true', '[]', '"s"', '42', '{}', '{"action": null}', '{"action": {}}', '{"action": []}']);
    case 2: return Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)));
    case 3: { const depth = 60 + int(20000); return `{"action":"list","x":${'['.repeat(depth)}${']'.repeat(chance(0.5) ? depth : 0)}}`; }
    case 4: return '{"action":"list","request_id":1,' + '"k":0,'.repeat(1 + int(5000)) + '"z":0}';
    default: return Array.from({ length: 1 + int(40) }, () => String.fromCharCode(int(0x2fff))).join('');
  }
}

/** The next fuzz payload for a socket: text or a Buffer (sent as binary). */
function nextPayload(multiplexed) {
  const roll = random();
  let text;
  if (roll < 0.1) return junk();
  if (roll < 0.55) text = frameText(frameObject());
  else text = mutate(frameText(frameObject()));
  if (!multiplexed) return text;
  if (chance(0.05)) return text;
  const stream = chance(0.95) ? pick(STREAMS) : pick(['nope', '__proto__', 'constructor', '', null, 7]);
  return `{"stream": ${JSON.stringify(stream)}, "payload": ${chance(0.9) ? text : JSON.stringify(text)}}`;
}

// ---- checking what comes back -----------------------------------------------------------------
const ENVELOPE = 'action,data,errors,request_id,response_status';
const findings = [];
const statuses = new Map();
function finding(kind, detail) {
  if (findings.length < 50) findings.push({ kind, detail: String(detail).slice(0, 300) });
  else findings.length++;
}

function checkEnvelope(frame, raw) {
  if (!frame || typeof frame !== 'object' || Array.isArray(frame)) return finding('not an object', raw);
  if (Object.keys(frame).sort().join(',') !== ENVELOPE) return finding('envelope keys', raw);
  if (!Array.isArray(frame.errors) || !Number.isInteger(frame.response_status)) return finding('envelope types', raw);
  statuses.set(frame.response_status, (statuses.get(frame.response_status) ?? 0) + 1);
  if (frame.response_status >= 500) finding('status 500', raw);
}

class FuzzSocket {
  constructor(url, multiplexed) {
    this.url = url;
    this.multiplexed = multiplexed;
    this.waiting = undefined;
    this.received = 0;
  }

  async open() {
    this.ws = new WebSocket(this.url);
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    this.ws.on('close', (code) => {
      if (!this.closing) finding('socket closed by the server', `${this.url} code ${code}`);
      this.waiting?.reject(new Error(`closed ${code}`));
    });
    await new Promise((resolve, reject) => this.ws.once('open', resolve).once('error', reject));
  }

  onFrame(data, isBinary) {
    this.received++;
    const raw = data.toString();
    if (isBinary) return finding('binary frame from the server', raw);
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return finding('invalid JSON from the server', raw);
    }
    if (this.multiplexed) {
      if (!frame || typeof frame !== 'object' || Object.keys(frame).sort().join(',') !== 'payload,stream') return finding('multiplex wrapper', raw);
      frame = frame.payload;
    }
    checkEnvelope(frame, raw);
    if (this.waiting && frame?.request_id === this.waiting.id) this.waiting.resolve();
  }

  /** Sends a frame the server must answer, and waits for that answer (everything before it was handled). */
  sync(id) {
    const frame = { action: 'list', request_id: id, limit: 1 };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no sync reply on ${this.url} within 30 s`)), 30_000);
      this.waiting = { id, resolve: () => (clearTimeout(timer), (this.waiting = undefined), resolve()), reject };
      this.ws.send(JSON.stringify(this.multiplexed ? { stream: 'schools', payload: frame } : frame));
    });
  }

  close() {
    this.closing = true;
    this.ws.close();
  }
}

// ---- the run -----------------------------------------------------------------------------------
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-gateway-fuzz-'));
const errorLines = [];
const writeStderr = process.stderr.write.bind(process.stderr);
process.stderr.write = (chunk, ...rest) => {
  const text = String(chunk);
  if (text.startsWith('{"time"')) {
    for (const line of text.split('\n').filter(Boolean)) if (JSON.parse(line).level === 'error') errorLines.push(line);
    return true;
  }
  return writeStderr(chunk, ...rest);
};
const crashes = [];
process.on('unhandledRejection', (error) => crashes.push(error));
process.on('uncaughtException', (error) => crashes.push(error));

const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: `sqlite:${path.join(dir, 'fuzz.sqlite3')}` });
// The rate limit is raised so the fuzzer exercises the handlers, not the throttle (tested elsewhere).
const app = await startDemo(config, { gateway: { limits: { ratePerSecond: 1e9, rateBurst: 1e9 } } });
const base = `ws://127.0.0.1:${app.port}`;
const { createToken } = await import('../src/demo/auth.ts');
const token = await createToken('fuzzer');
const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join(',');

const sockets = [];
for (let i = 0; i < SOCKETS; i++) {
  const multiplexed = i % 2 === 0;
  const url = multiplexed ? `${base}/ws${i % 4 === 0 ? `?token=${token}` : ''}` : `${base}/ws/${STREAMS[i % STREAMS.length]}/${i % 3 === 0 ? `?token=${token}` : ''}`;
  const socket = new FuzzSocket(url, multiplexed);
  await socket.open();
  sockets.push(socket);
}

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
function memory() {
  global.gc?.();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed };
}
const memoryBefore = memory();
console.log(`fuzz: seed ${SEED}, ${FRAMES} frames over ${SOCKETS} sockets, ${GRAPHQL_DOCS} GraphQL requests per protocol, at most ${SECONDS} s`);
console.log(`memory before: rss ${mb(memoryBefore.rss)}, heap used ${mb(memoryBefore.heapUsed)}${global.gc ? '' : ' (no --expose-gc: not collected first)'}`);

const started = Date.now();
const deadline = started + SECONDS * 1000;
let sent = 0;
let nextReport = 10_000;
let syncs = 0;
async function drive(socket) {
  while (sent < FRAMES && Date.now() < deadline && socket.ws.readyState === WebSocket.OPEN) {
    for (let i = 0; i < WINDOW && sent < FRAMES; i++) {
      const payload = nextPayload(socket.multiplexed);
      if (Buffer.isBuffer(payload)) socket.ws.send(payload, { binary: true });
      else socket.ws.send(payload);
      sent++;
    }
    await socket.sync(`sync-${syncs++}`);
    if (sent >= nextReport) {
      nextReport += 10_000;
      const seconds = (Date.now() - started) / 1000;
      console.log(`  ${sent} frames, ${seconds.toFixed(1)} s, ${Math.round(sent / seconds)} frames/s, findings ${findings.length}, rss ${mb(process.memoryUsage().rss)}`);
    }
  }
}
const graphql = fuzzGraphQL({
  baseUrl: `http://127.0.0.1:${app.port}`,
  wsUrl: base,
  seed: SEED,
  documents: GRAPHQL_DOCS,
  deadline,
  healthBoundMs: HEALTH_MS,
  report: (item) => finding(`graphql ${item.kind}`, item.detail),
});
const results = await Promise.allSettled([...sockets.map((socket) => drive(socket)), graphql]);
for (const result of results) if (result.status === 'rejected') finding('socket stalled', result.reason?.message);
const seconds = (Date.now() - started) / 1000;

// After the storm: the server still answers, nothing leaked into prototypes, the tables are there.
const probe = new FuzzSocket(`${base}/ws/things/`, false);
await probe.open();
await probe.sync('final').catch((error) => finding('fresh socket not answered', error.message));
const health = await fetch(`http://127.0.0.1:${app.port}/healthz`).then((response) => response.status, () => 0);
if (health !== 200) finding('healthz', health);
if (Object.getOwnPropertyNames(Object.prototype).sort().join(',') !== protoBefore || {}.polluted !== undefined) finding('prototype pollution', Object.getOwnPropertyNames(Object.prototype));
for (const table of ['things', 'tests', 'users', 'tokens', 'schools', 'classrooms']) if (!(await app.knex.schema.hasTable(table))) finding('table dropped', table);
for (const line of errorLines.slice(0, 20)) finding('error logged', line);
for (const error of crashes) finding('crash', error?.stack ?? error);

for (const socket of [...sockets, probe]) socket.close();
await app.close();
fs.rmSync(dir, { recursive: true, force: true });
await new Promise((resolve) => setTimeout(resolve, 100));
const memoryAfter = memory();
// With the app closed and garbage collected, what the run allocated must be gone again: growth past
// the slack (module caches and JIT code stay) means something kept frames, sockets or subscriptions.
const HEAP_SLACK = Number(process.env.FUZZ_HEAP_SLACK_MB ?? 16) * 1024 * 1024;
if (global.gc && memoryAfter.heapUsed - memoryBefore.heapUsed > HEAP_SLACK) {
  finding('memory not back to baseline', `heap used ${mb(memoryBefore.heapUsed)} before, ${mb(memoryAfter.heapUsed)} after`);
}

console.log(`\nfuzz: ${sent} frames in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)} frames/s), ${sockets.reduce((n, s) => n + s.received, 0)} frames received`);
const graphqlResult = results.at(-1);
if (graphqlResult.status === 'fulfilled') {
  console.log(`graphql: ${graphqlResult.value.sent} requests over 3 protocols, slowest /healthz meanwhile ${graphqlResult.value.slowestHealthMs.toFixed(1)} ms`);
}
console.log(`statuses: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([status, count]) => `${status}×${count}`).join(' ')}`);
console.log(`memory after:  rss ${mb(memoryAfter.rss)}, heap used ${mb(memoryAfter.heapUsed)} (heap ${memoryAfter.heapUsed >= memoryBefore.heapUsed ? '+' : ''}${mb(memoryAfter.heapUsed - memoryBefore.heapUsed)})`);
if (sent < FRAMES) console.log(`stopped at the time bound (${SECONDS} s) before ${FRAMES} frames`);
if (findings.length) {
  console.log(`\n${findings.length} finding(s) (seed ${SEED}):`);
  for (const item of findings.filter(Boolean)) console.log(`  - ${item.kind}: ${item.detail}`);
  process.exit(1);
}
console.log('no findings');
process.exit(0);
