// `npm run soak -- --chaos` (or `npx tsx scripts/soak-chaos.ts`): the change feed under chaos. Two
// gateway processes share PostgreSQL and a Redis of this script's own (a redis-server child on a free
// port: the shared Redis is never touched); subscribers spread over both processes and two models
// (things, whose writes database triggers capture, and products, whose writes the ORM hooks capture)
// read `with_position` and `subscribe_many` `since` it; writers patch random rows at a steady rate;
// subscribers drop their socket at random and resume `since` their last position (410: read again);
// Redis is killed (SIGKILL) and started again, empty, twice. At the end every subscriber's state must
// equal the table, with 0 lost, 0 duplicated and 0 out-of-order events. Prints the figures (and the
// catch-up time after each restart); exit 1 on a failure.
//
// `--quick`: a short run a test can afford (200 subscribers, 15 s, 20 writes/s); the variables below
// override either size.
// Env: SOAK_CHAOS_SOCKETS (2000), SOAK_CHAOS_SECONDS (60), SOAK_CHAOS_ROWS (50 per model), SOAK_CHAOS_RATE
// (writes/s, 50), SOAK_CHAOS_DROP (chance per subscriber per second to drop its socket, 0.02),
// SOAK_CHAOS_DOWN_MS (how long Redis stays down, 5000), TEST_DATABASE_URL.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { WebSocket, type RawData } from 'ws';
import { createTestDatabase, uniqueRedisPrefix } from '../test/helpers/postgres.js';
import { RedisServer } from '../test/helpers/redis-server.js';
import { GatewayProcess, waitForHealth } from '../test/helpers/scaleout.js';

const quick = process.argv.includes('--quick');
const env = (name: string, full: number, short: number): number => Number(process.env[name] ?? (quick ? short : full));
const SOCKETS = env('SOAK_CHAOS_SOCKETS', 2000, 200);
const SECONDS = env('SOAK_CHAOS_SECONDS', 60, 15);
const ROWS = env('SOAK_CHAOS_ROWS', 50, 20);
const RATE = env('SOAK_CHAOS_RATE', 50, 20);
const DROP = env('SOAK_CHAOS_DROP', 0.02, 0.05);
const DOWN_MS = env('SOAK_CHAOS_DOWN_MS', 5000, 2000);
/** Writes under way at once, at most: past it the writers fall behind (and the figures say so). */
const MAX_WRITES_IN_FLIGHT = 16;
/** How long subscribers may take to reach a head before the run counts it as not reached. */
const CATCH_UP_LIMIT_MS = 60_000;
const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A position's sequence number (this script checks order and counts; clients treat positions as opaque). */
const seqOf = (position: string) => Number.parseInt(position.split('.')[1] ?? '', 36);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Frame {
  action?: string;
  response_status?: number;
  request_id?: string;
  data?: any;
  position?: string;
}

/** A model the run writes and watches: its stream, its log name, and the value a patch sets. */
interface Watched {
  stream: 'things' | 'products';
  /** The model's name in the change log. */
  model: string;
  table: string;
  column: string;
  create(i: number): Record<string, unknown>;
  patch(n: number): Record<string, unknown>;
  valueOf(row: Record<string, unknown>): string;
  /** The row's primary key as its serializer shows it. */
  pkOf(row: Record<string, unknown>): number;
}

const WATCHED: readonly Watched[] = [
  {
    stream: 'things',
    model: 'Thing',
    table: 'things',
    column: 'counter',
    create: (i) => ({ name: `chaos ${i}` }),
    patch: (n) => ({ counter: n }),
    valueOf: (row) => String(row.counter),
    pkOf: (row) => Number(row.pk),
  },
  {
    stream: 'products',
    model: 'Product',
    table: 'products',
    column: 'name',
    create: (i) => ({ name: `chaos ${i}`, slug: `chaos-${i}`, price: '1.00' }),
    patch: (n) => ({ name: `patched ${n}` }),
    valueOf: (row) => String(row.name),
    pkOf: (row) => Number(row.id),
  },
];

/** One socket to one stream, with requests matched to their replies. */
class Client {
  ws: WebSocket | undefined;
  private pending = new Map<string, (frame: Frame) => void>();
  private requests = 0;

  constructor(
    readonly url: string,
    readonly watched: Watched,
  ) {}

  async open(): Promise<void> {
    const ws = new WebSocket(`${this.url}/ws/${this.watched.stream}/`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (raw: RawData) => this.onFrame(JSON.parse(raw.toString()) as Frame));
    ws.on('error', () => undefined);
    this.ws = ws;
  }

  request(frame: Record<string, unknown>): Promise<Frame> {
    const id = `r${++this.requests}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, resolve);
      this.ws!.send(JSON.stringify({ ...frame, request_id: id }), (error) => error && reject(error));
    });
  }

  drop(): void {
    const ws = this.ws;
    this.ws = undefined;
    this.pending.clear();
    ws?.terminate();
  }

  protected onFrame(frame: Frame): void {
    const waiting = frame.request_id ? this.pending.get(frame.request_id) : undefined;
    // A reply to a request in flight (events carry their subscribe's id, whose reply came first).
    if (waiting) {
      this.pending.delete(frame.request_id!);
      waiting(frame);
      return;
    }
    this.onEvent(frame);
  }

  protected onEvent(_frame: Frame): void {}
}

/** One subscriber: its view of the table, the last position it saw, and what went wrong. */
class Subscriber extends Client {
  state = new Map<number, string>();
  last = '';
  /** The sequence number its latest read was anchored at, and the events accepted since that read. */
  anchor = 0;
  seenSinceRead = 0;
  duplicates = 0;
  outOfOrder = 0;
  resumes = 0;
  rereads = 0;
  events = 0;

  async connect(): Promise<void> {
    await this.open();
    if (this.last) {
      const reply = await this.request({ action: 'subscribe_many', since: this.last });
      if (reply.response_status === 201) {
        this.resumes++;
        return;
      }
      if (reply.response_status !== 410) throw new Error(`resume answered ${JSON.stringify(reply)}`);
    }
    await this.read();
  }

  /** Reads the table with a position and subscribes since it (first time, and after a 410). */
  private async read(): Promise<void> {
    if (this.last) this.rereads++;
    const list = await this.request({ action: 'list', with_position: true });
    this.state = new Map((list.data as Array<Record<string, unknown>>).map((row) => [this.watched.pkOf(row), this.watched.valueOf(row)]));
    this.last = String(list.position);
    this.anchor = seqOf(this.last);
    this.seenSinceRead = 0;
    const reply = await this.request({ action: 'subscribe_many', since: this.last });
    if (reply.response_status !== 201) throw new Error(`subscribe answered ${JSON.stringify(reply)}`);
  }

  protected override onEvent(frame: Frame): void {
    if (!frame.position) return;
    this.events++;
    const seq = seqOf(frame.position);
    const last = this.last ? seqOf(this.last) : 0;
    if (seq === last) this.duplicates++;
    else if (seq < last) this.outOfOrder++;
    else {
      this.last = frame.position;
      this.seenSinceRead++;
      if (frame.action === 'delete') this.state.delete(this.watched.pkOf(frame.data));
      else this.state.set(this.watched.pkOf(frame.data), this.watched.valueOf(frame.data));
    }
  }
}

/** The newest log sequence number of each watched model. */
async function headsByModel(client: pg.Client): Promise<Map<string, number>> {
  const rows = (await client.query('select model, max(seq) as seq from dcrf_change_log group by model')).rows as Array<{
    model: string;
    seq: string;
  }>;
  return new Map(rows.map((row) => [row.model, Number(row.seq)]));
}

/** Resolves with the ms it took every subscriber to reach its model's head (Infinity past the limit). */
async function catchUp(subscribers: readonly Subscriber[], heads: Map<string, number>, since: number): Promise<number> {
  for (;;) {
    const behind = subscribers.filter((s) => !s.last || seqOf(s.last) < (heads.get(s.watched.model) ?? 0)).length;
    if (behind === 0) return Date.now() - since;
    if (Date.now() - since > CATCH_UP_LIMIT_MS) return Number.POSITIVE_INFINITY;
    await sleep(20);
  }
}

/** CPU seconds a process has used so far (Linux /proc; undefined elsewhere). */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** CPU seconds of the two gateways and of this script (its 2,000 client sockets). */
function cpuNow(gateways: readonly GatewayProcess[]): number[] {
  const own = process.cpuUsage();
  return [...gateways.map((gateway) => cpuSecondsOf(gateway.child.pid) ?? Number.NaN), (own.user + own.system) / 1e6];
}

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

const database = await createTestDatabase(databaseUrl);
const redis = await RedisServer.start();
const gatewayEnv = {
  DATABASE_URL: database.url,
  REDIS_URL: redis.url,
  REDIS_PREFIX: uniqueRedisPrefix(),
  MAX_SOCKETS_PER_IP: '0',
  MAX_SOCKETS: '0',
};
const gateways = [await GatewayProcess.start(gatewayEnv), await GatewayProcess.start(gatewayEnv)];
const db = new pg.Client({ connectionString: database.url });
await db.connect();
const loadAtStart = os.loadavg();
let failed = false;
const fail = (why: string) => {
  console.error(why);
  failed = true;
};
try {
  // Two writer sockets per model on each process: a write waits for its reply, several run at once.
  const writers = new Map<string, Client[]>();
  for (const watched of WATCHED) {
    const sockets = gateways.flatMap((gateway) => [new Client(gateway.wsUrl, watched), new Client(gateway.wsUrl, watched)]);
    await Promise.all(sockets.map((socket) => socket.open()));
    writers.set(watched.stream, sockets);
  }
  const pks = new Map<string, number[]>();
  for (const watched of WATCHED) {
    const writer = writers.get(watched.stream)![0]!;
    const created: number[] = [];
    for (let i = 0; i < ROWS; i++) {
      const reply = await writer.request({ action: 'create', data: watched.create(i) });
      if (reply.response_status !== 201) throw new Error(`create answered ${JSON.stringify(reply)}`);
      created.push(watched.pkOf(reply.data));
    }
    pks.set(watched.stream, created);
  }

  const subscribers = Array.from({ length: SOCKETS }, (_, i) => new Subscriber(gateways[i % 2]!.wsUrl, WATCHED[(i >> 1) % 2]!));
  for (let i = 0; i < subscribers.length; i += 100) await Promise.all(subscribers.slice(i, i + 100).map((s) => s.connect()));
  console.log(
    `${SOCKETS} subscribers on 2 processes and 2 models; writing ${RATE}/s for ${SECONDS} s; Redis killed twice for ${DOWN_MS} ms`,
  );

  const cpuAtStart = cpuNow(gateways);
  const started = Date.now();
  let writes = 0;
  let writeErrors = 0;
  const latencies: number[] = [];
  let running = true;
  // Paced by the clock (write n is due at start + n / RATE), not by sleeping after each reply: a
  // write's own latency does not lower the rate; past MAX_WRITES_IN_FLIGHT the writers fall behind.
  const writing = (async () => {
    const inFlight = new Set<Promise<void>>();
    for (let n = 0; running; n++) {
      const wait = started + (n * 1000) / RATE - Date.now();
      if (wait > 0) await sleep(wait);
      while (inFlight.size >= MAX_WRITES_IN_FLIGHT) await Promise.race(inFlight);
      if (!running) break;
      const watched = WATCHED[n % WATCHED.length]!;
      const sockets = writers.get(watched.stream)!;
      const socket = sockets[Math.floor(n / WATCHED.length) % sockets.length]!;
      const rows = pks.get(watched.stream)!;
      const pk = rows[Math.floor(Math.random() * rows.length)]!;
      const sent = Date.now();
      const write = socket.request({ action: 'patch', pk, data: watched.patch(n) }).then(
        (reply) => {
          if (reply.response_status === 200) {
            writes++;
            latencies.push(Date.now() - sent);
          } else {
            writeErrors++;
            fail(`patch answered ${JSON.stringify(reply)}`);
          }
        },
        (error: unknown) => fail(`patch failed: ${String(error)}`),
      );
      const tracked: Promise<void> = write.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    }
    await Promise.all(inFlight);
  })();

  const restarts: Array<{ atSecond: number; downMs: number; catchUpMs: number }> = [];
  const outages = [0.33, 0.66].map((at) => Math.floor(SECONDS * at * 1000));
  const restarting: Array<Promise<void>> = [];
  const chaos = (async () => {
    let second = 0;
    while (running) {
      await sleep(1000);
      second++;
      for (const subscriber of subscribers) {
        if (!subscriber.ws || Math.random() >= DROP) continue;
        subscriber.drop();
        void subscriber.connect().catch((error: unknown) => fail(`reconnect failed: ${String(error)}`));
      }
      const elapsed = Date.now() - started;
      if (outages.length && elapsed >= outages[0]!) {
        outages.shift();
        const atSecond = second;
        restarting.push(
          (async () => {
            console.log(`t=${atSecond}s: Redis killed`);
            const down = Date.now();
            await redis.kill();
            await sleep(DOWN_MS);
            await redis.restart();
            const up = Date.now();
            // Every change committed by now must reach every subscriber: how long it takes.
            const heads = await headsByModel(db);
            const catchUpMs = await catchUp(subscribers, heads, up);
            restarts.push({ atSecond, downMs: up - down, catchUpMs });
            console.log(`t=${atSecond}s: Redis back after ${up - down} ms; every subscriber caught up in ${catchUpMs} ms`);
          })().catch((error: unknown) => fail(`Redis restart failed: ${String(error)}`)),
        );
      }
      if (elapsed >= SECONDS * 1000) running = false;
    }
  })();
  await chaos;
  await writing;
  const writingSeconds = (Date.now() - started) / 1000;
  // Share of one core each process used while the writers ran: where a 2-core machine's time went.
  const cpuShare = cpuNow(gateways).map((seconds, i) => Math.round(((seconds - cpuAtStart[i]!) / writingSeconds) * 100) / 100);
  await Promise.all(restarting);
  await Promise.all(gateways.map((gateway) => waitForHealth(gateway.url, 200, 30_000)));
  // Resumes still in flight, then every subscriber at the final head.
  const finalHeads = await headsByModel(db);
  const settledFrom = Date.now();
  const finalCatchUpMs = await catchUp(subscribers, finalHeads, settledFrom);

  const tables = new Map<string, Map<number, string>>();
  for (const watched of WATCHED) {
    const rows = (await db.query(`select id, ${watched.column} as value from ${watched.table}`)).rows as Array<{
      id: number;
      value: unknown;
    }>;
    tables.set(watched.model, new Map(rows.map((row) => [Number(row.id), String(row.value)])));
  }
  // Lost: changes of a subscriber's model committed after its latest read that it never received.
  const logged = new Map<string, number[]>();
  for (const row of (await db.query('select model, seq from dcrf_change_log order by seq')).rows as Array<{ model: string; seq: string }>) {
    let seqs = logged.get(row.model);
    if (!seqs) logged.set(row.model, (seqs = []));
    seqs.push(Number(row.seq));
  }
  for (const watched of WATCHED) if (!logged.has(watched.model)) fail(`no change log entries of ${watched.model}`);
  const after = (seqs: readonly number[], seq: number) => {
    let low = 0;
    let high = seqs.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (seqs[mid]! <= seq) low = mid + 1;
      else high = mid;
    }
    return seqs.length - low;
  };
  let mismatched = 0;
  let lost = 0;
  for (const subscriber of subscribers) {
    const table = tables.get(subscriber.watched.model)!;
    const same = subscriber.state.size === table.size && [...table].every(([pk, value]) => subscriber.state.get(pk) === value);
    if (!same) mismatched++;
    lost += Math.max(0, after(logged.get(subscriber.watched.model) ?? [], subscriber.anchor) - subscriber.seenSinceRead);
  }
  const sum = (pick: (s: Subscriber) => number) => subscribers.reduce((total, s) => total + pick(s), 0);
  latencies.sort((a, b) => a - b);
  const figures = {
    subscribers: SOCKETS,
    processes: 2,
    seconds: SECONDS,
    writes,
    writesPerSecond: Math.round((writes / writingSeconds) * 10) / 10,
    writeLatencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) },
    writeErrors,
    events: sum((s) => s.events),
    resumes: sum((s) => s.resumes),
    rereads: sum((s) => s.rereads),
    lost,
    duplicated: sum((s) => s.duplicates),
    outOfOrder: sum((s) => s.outOfOrder),
    statesNotEqualToTable: mismatched,
    redisRestarts: restarts,
    finalCatchUpMs,
    coresUsedWhileWriting: { gateways: cpuShare.slice(0, 2), clients: cpuShare[2] },
    loadAverage: { start: loadAtStart.map((n) => Math.round(n * 10) / 10), end: os.loadavg().map((n) => Math.round(n * 10) / 10) },
    cpus: os.cpus().length,
  };
  console.log(JSON.stringify(figures, null, 2));
  if (figures.lost || figures.duplicated || figures.outOfOrder || mismatched) fail('events lost, duplicated or out of order');
  if (restarts.length !== 2 || restarts.some((restart) => !Number.isFinite(restart.catchUpMs))) fail('a restart was not caught up');
  if (!Number.isFinite(finalCatchUpMs)) fail('subscribers never reached the final head');
  for (const sockets of writers.values()) for (const socket of sockets) socket.drop();
  for (const subscriber of subscribers) subscriber.drop();
} finally {
  await db.end();
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await redis.stop();
  await database.drop();
}
console.log(failed ? 'FAIL' : 'PASS');
process.exit(failed ? 1 : 0);
