// `npm run fuzz`: the long DCRF fuzz run. Starts the demo app (its own SQLite file, in-process PubSub)
// and sends generated and mutated DCRF frames (test/helpers/dcrf-fuzz.ts, shared with the in-suite fuzz)
// over several real sockets, bare and multiplexed, in
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
import { WebSocket, type RawData } from 'ws';
import { DcrfFuzzer, FUZZ_STREAMS } from '../test/helpers/dcrf-fuzz.js';

process.env.LOG_LEVEL ??= 'error';
// Imported after LOG_LEVEL is set: the logger reads it once.
const { startDemo } = await import('../src/demo/app.js');
const { loadConfig } = await import('../src/config.js');
const { fuzzGraphQL } = await import('../test/helpers/graphql-fuzz.js');

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 600);
const SOCKETS = Number(process.env.FUZZ_SOCKETS ?? 8);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const GRAPHQL_DOCS = Number(process.env.FUZZ_GRAPHQL_DOCS ?? 20_000);
const HEALTH_MS = Number(process.env.FUZZ_HEALTH_MS ?? 2000);
/** Frames sent on a socket before it waits for a sync reply (keeps every socket's backlog bounded). */
const WINDOW = 50;

const fuzzer = new DcrfFuzzer(SEED);

// ---- checking what comes back -----------------------------------------------------------------
const ENVELOPE = 'action,data,errors,request_id,response_status';
interface Finding {
  kind: string;
  detail: string;
}
const findings: Finding[] = [];
const statuses = new Map<number, number>();
function finding(kind: string, detail: unknown): void {
  if (findings.length < 50) findings.push({ kind, detail: String(detail).slice(0, 300) });
  else findings.length++;
}

function checkEnvelope(frame: unknown, raw: string): void {
  if (!frame || typeof frame !== 'object' || Array.isArray(frame)) {
    finding('not an object', raw);
    return;
  }
  if (Object.keys(frame).sort().join(',') !== ENVELOPE) {
    finding('envelope keys', raw);
    return;
  }
  const reply = frame as { errors: unknown; response_status: unknown };
  if (!Array.isArray(reply.errors) || !Number.isInteger(reply.response_status)) {
    finding('envelope types', raw);
    return;
  }
  const status = reply.response_status as number;
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  if (status >= 500) finding('status 500', raw);
}

class FuzzSocket {
  ws!: WebSocket;
  received = 0;
  closing = false;
  waiting: { id: string; resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(
    readonly url: string,
    readonly multiplexed: boolean,
  ) {}

  async open(): Promise<void> {
    this.ws = new WebSocket(this.url);
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    this.ws.on('close', (code) => {
      if (!this.closing) finding('socket closed by the server', `${this.url} code ${code}`);
      this.waiting?.reject(new Error(`closed ${code}`));
    });
    await new Promise((resolve, reject) => this.ws.once('open', resolve).once('error', reject));
  }

  onFrame(data: RawData, isBinary: boolean): void {
    this.received++;
    const raw = data.toString();
    if (isBinary) {
      finding('binary frame from the server', raw);
      return;
    }
    let frame: any;
    try {
      frame = JSON.parse(raw);
    } catch {
      finding('invalid JSON from the server', raw);
      return;
    }
    if (this.multiplexed) {
      if (!frame || typeof frame !== 'object' || Object.keys(frame).sort().join(',') !== 'payload,stream') {
        finding('multiplex wrapper', raw);
        return;
      }
      frame = frame.payload;
    }
    checkEnvelope(frame, raw);
    if (this.waiting && frame?.request_id === this.waiting.id) this.waiting.resolve();
  }

  /** Sends a frame the server must answer, and waits for that answer (everything before it was handled). */
  sync(id: string): Promise<void> {
    const frame = { action: 'list', request_id: id, limit: 1 };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no sync reply on ${this.url} within 30 s`)), 30_000);
      const done = (): void => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve();
      };
      this.waiting = { id, resolve: done, reject };
      this.ws.send(JSON.stringify(this.multiplexed ? { stream: 'schools', payload: frame } : frame));
    });
  }

  close(): void {
    this.closing = true;
    this.ws.close();
  }
}

// ---- the run -----------------------------------------------------------------------------------
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-gateway-fuzz-'));
const errorLines: string[] = [];
const writeStderr = process.stderr.write.bind(process.stderr);
process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  const text = String(chunk);
  if (text.startsWith('{"time"')) {
    for (const line of text.split('\n').filter(Boolean)) if (JSON.parse(line).level === 'error') errorLines.push(line);
    return true;
  }
  return writeStderr(chunk as string, ...(rest as []));
}) as typeof process.stderr.write;
const crashes: unknown[] = [];
process.on('unhandledRejection', (error) => crashes.push(error));
process.on('uncaughtException', (error) => crashes.push(error));

const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: `sqlite:${path.join(dir, 'fuzz.sqlite3')}` });
// The rate limit is raised so the fuzzer exercises the handlers, not the throttle (tested elsewhere).
const app = await startDemo(config, { gateway: { limits: { ratePerSecond: 1e9, rateBurst: 1e9 } } });
const base = `ws://127.0.0.1:${app.port}`;
const { createToken } = await import('../src/demo/auth.js');
const token = await createToken('fuzzer');
const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join(',');

const sockets: FuzzSocket[] = [];
for (let i = 0; i < SOCKETS; i++) {
  const multiplexed = i % 2 === 0;
  const url = multiplexed
    ? `${base}/ws${i % 4 === 0 ? `?token=${token}` : ''}`
    : `${base}/ws/${FUZZ_STREAMS[i % FUZZ_STREAMS.length]}/${i % 3 === 0 ? `?token=${token}` : ''}`;
  const socket = new FuzzSocket(url, multiplexed);
  await socket.open();
  sockets.push(socket);
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
function memory(): { rss: number; heapUsed: number } {
  globalThis.gc?.();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed };
}
const memoryBefore = memory();
console.log(
  `fuzz: seed ${SEED}, ${FRAMES} frames over ${SOCKETS} sockets, ${GRAPHQL_DOCS} GraphQL requests per protocol, at most ${SECONDS} s`,
);
console.log(
  `memory before: rss ${mb(memoryBefore.rss)}, heap used ${mb(memoryBefore.heapUsed)}${globalThis.gc ? '' : ' (no --expose-gc: not collected first)'}`,
);

const started = Date.now();
const deadline = started + SECONDS * 1000;
let sent = 0;
let nextReport = 10_000;
let syncs = 0;
async function drive(socket: FuzzSocket): Promise<void> {
  while (sent < FRAMES && Date.now() < deadline && socket.ws.readyState === WebSocket.OPEN) {
    for (let i = 0; i < WINDOW && sent < FRAMES; i++) {
      const frame = fuzzer.next(socket.multiplexed);
      if ('binary' in frame) socket.ws.send(frame.binary, { binary: true });
      else socket.ws.send(frame.text);
      sent++;
    }
    await socket.sync(`sync-${syncs++}`);
    if (sent >= nextReport) {
      nextReport += 10_000;
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `  ${sent} frames, ${seconds.toFixed(1)} s, ${Math.round(sent / seconds)} frames/s, findings ${findings.length}, rss ${mb(process.memoryUsage().rss)}`,
      );
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
for (const result of results) if (result.status === 'rejected') finding('socket stalled', (result.reason as Error)?.message);
const seconds = (Date.now() - started) / 1000;

// After the storm: the server still answers, nothing leaked into prototypes, the tables are there.
const probe = new FuzzSocket(`${base}/ws/things/`, false);
await probe.open();
await probe.sync('final').catch((error: Error) => finding('fresh socket not answered', error.message));
const health = await fetch(`http://127.0.0.1:${app.port}/healthz`).then(
  (response) => response.status,
  () => 0,
);
if (health !== 200) finding('healthz', health);
if (Object.getOwnPropertyNames(Object.prototype).sort().join(',') !== protoBefore || ({} as Record<string, unknown>).polluted !== undefined)
  finding('prototype pollution', Object.getOwnPropertyNames(Object.prototype));
for (const table of ['things', 'tests', 'users', 'tokens', 'schools', 'classrooms'])
  if (!(await app.knex.schema.hasTable(table))) finding('table dropped', table);
for (const line of errorLines.slice(0, 20)) finding('error logged', line);
for (const error of crashes) finding('crash', (error as Error)?.stack ?? error);

for (const socket of [...sockets, probe]) socket.close();
await app.close();
fs.rmSync(dir, { recursive: true, force: true });
await new Promise((resolve) => setTimeout(resolve, 100));
const memoryAfter = memory();
// With the app closed and garbage collected, what the run allocated must be gone again: growth past
// the slack (module caches and JIT code stay) means something kept frames, sockets or subscriptions.
const HEAP_SLACK = Number(process.env.FUZZ_HEAP_SLACK_MB ?? 16) * 1024 * 1024;
if (globalThis.gc && memoryAfter.heapUsed - memoryBefore.heapUsed > HEAP_SLACK) {
  finding('memory not back to baseline', `heap used ${mb(memoryBefore.heapUsed)} before, ${mb(memoryAfter.heapUsed)} after`);
}

console.log(
  `\nfuzz: ${sent} frames in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)} frames/s), ${sockets.reduce((n, s) => n + s.received, 0)} frames received`,
);
const graphqlResult = results.at(-1) as PromiseSettledResult<Awaited<typeof graphql>>;
if (graphqlResult.status === 'fulfilled' && graphqlResult.value) {
  console.log(
    `graphql: ${graphqlResult.value.sent} requests over 3 protocols, slowest /healthz meanwhile ${graphqlResult.value.slowestHealthMs.toFixed(1)} ms`,
  );
}
console.log(
  `statuses: ${[...statuses]
    .sort((a, b) => a[0] - b[0])
    .map(([status, count]) => `${status}×${count}`)
    .join(' ')}`,
);
console.log(
  `memory after:  rss ${mb(memoryAfter.rss)}, heap used ${mb(memoryAfter.heapUsed)} (heap ${memoryAfter.heapUsed >= memoryBefore.heapUsed ? '+' : ''}${mb(memoryAfter.heapUsed - memoryBefore.heapUsed)})`,
);
if (sent < FRAMES) console.log(`stopped at the time bound (${SECONDS} s) before ${FRAMES} frames`);
if (findings.length) {
  console.log(`\n${findings.length} finding(s) (seed ${SEED}):`);
  for (const item of findings.filter(Boolean)) console.log(`  - ${item.kind}: ${item.detail}`);
  process.exit(1);
}
console.log('no findings');
process.exit(0);
