// `npm run soak -- --chaos` (or `npx tsx scripts/soak-chaos.ts`): the change feed under chaos. Two
// gateway processes share PostgreSQL and Redis (Redis through a TCP proxy this script cuts); subscribers
// spread over both read the things `with_position` and `subscribe_many` `since` it; a writer patches
// random rows at a steady rate; subscribers drop their socket at random and resume `since` their last
// position (410: read again); Redis is made unreachable twice. At the end every subscriber's state must
// equal the table, with 0 duplicated and 0 out-of-order events. Prints the numbers; exit 1 on a failure.
//
// Env: SOAK_CHAOS_SOCKETS (2000), SOAK_CHAOS_SECONDS (60), SOAK_CHAOS_ROWS (50), SOAK_CHAOS_RATE (writes/s, 50),
// SOAK_CHAOS_DROP (chance per subscriber per second to drop its socket, 0.02), TEST_DATABASE_URL, TEST_REDIS_URL.
import { WebSocket, type RawData } from 'ws';
import { createTestDatabase, uniqueRedisPrefix } from '../test/helpers/postgres.js';
import { GatewayProcess, waitForHealth } from '../test/helpers/scaleout.js';
import { TcpProxy } from '../test/helpers/tcp-proxy.js';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const SOCKETS = env('SOAK_CHAOS_SOCKETS', 2000);
const SECONDS = env('SOAK_CHAOS_SECONDS', 60);
const ROWS = env('SOAK_CHAOS_ROWS', 50);
const RATE = env('SOAK_CHAOS_RATE', 50);
const DROP = env('SOAK_CHAOS_DROP', 0.02);
const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A position's sequence number (this script checks order; clients treat positions as opaque). */
const seqOf = (position: string) => Number.parseInt(position.split('.')[1] ?? '', 36);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Frame {
  action?: string;
  response_status?: number;
  request_id?: string;
  data?: any;
  position?: string;
}

/** One subscriber: its view of the table, the last position it saw, and what went wrong. */
class Subscriber {
  ws: WebSocket | undefined;
  state = new Map<number, number>();
  last = '';
  duplicates = 0;
  outOfOrder = 0;
  resumes = 0;
  rereads = 0;
  events = 0;
  private pending = new Map<string, (frame: Frame) => void>();
  private requests = 0;

  constructor(readonly url: string) {}

  async connect(): Promise<void> {
    const ws = new WebSocket(`${this.url}/ws/things/`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (raw: RawData) => this.onFrame(JSON.parse(raw.toString()) as Frame));
    ws.on('error', () => undefined);
    this.ws = ws;
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
    this.state = new Map((list.data as Array<{ pk: number; counter: number }>).map((row) => [row.pk, row.counter]));
    this.last = String(list.position);
    const reply = await this.request({ action: 'subscribe_many', since: this.last });
    if (reply.response_status !== 201) throw new Error(`subscribe answered ${JSON.stringify(reply)}`);
  }

  drop(): void {
    const ws = this.ws;
    this.ws = undefined;
    this.pending.clear();
    ws?.terminate();
  }

  private request(frame: Record<string, unknown>): Promise<Frame> {
    const id = `r${++this.requests}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, resolve);
      this.ws!.send(JSON.stringify({ ...frame, request_id: id }), (error) => error && reject(error));
    });
  }

  private onFrame(frame: Frame): void {
    const waiting = frame.request_id ? this.pending.get(frame.request_id) : undefined;
    // A reply to a request in flight (events carry their subscribe's id, whose reply came first).
    if (waiting) {
      this.pending.delete(frame.request_id!);
      waiting(frame);
      return;
    }
    if (!frame.position) return;
    this.events++;
    const seq = seqOf(frame.position);
    const last = this.last ? seqOf(this.last) : 0;
    if (seq === last) this.duplicates++;
    else if (seq < last) this.outOfOrder++;
    else {
      this.last = frame.position;
      if (frame.action === 'delete') this.state.delete(frame.data.pk);
      else this.state.set(frame.data.pk, frame.data.counter);
    }
  }
}

const database = await createTestDatabase(databaseUrl);
const redis = new URL(redisUrl);
const proxy = await TcpProxy.start({ host: redis.hostname || '127.0.0.1', port: Number(redis.port || 6379) });
const proxied = new URL(redisUrl);
proxied.hostname = '127.0.0.1';
proxied.port = String(proxy.port);
const gatewayEnv = {
  DATABASE_URL: database.url,
  REDIS_URL: proxied.toString(),
  REDIS_PREFIX: uniqueRedisPrefix(),
  MAX_SOCKETS_PER_IP: '0',
  MAX_SOCKETS: '0',
};
const gateways = [await GatewayProcess.start(gatewayEnv), await GatewayProcess.start(gatewayEnv)];
let failed = false;
try {
  const writer = new Subscriber(gateways[0]!.wsUrl);
  await writer.connect();
  const writerRequest = (frame: Record<string, unknown>) =>
    (writer as unknown as { request(f: Record<string, unknown>): Promise<Frame> }).request(frame);
  const pks: number[] = [];
  for (let i = 0; i < ROWS; i++)
    pks.push(((await writerRequest({ action: 'create', data: { name: `chaos ${i}` } })).data as { pk: number }).pk);

  const subscribers = Array.from({ length: SOCKETS }, (_, i) => new Subscriber(gateways[i % 2]!.wsUrl));
  for (let i = 0; i < subscribers.length; i += 100) await Promise.all(subscribers.slice(i, i + 100).map((s) => s.connect()));
  console.log(`${SOCKETS} subscribers on 2 processes; writing ${RATE}/s for ${SECONDS} s`);

  const started = Date.now();
  let writes = 0;
  let running = true;
  const writing = (async () => {
    while (running) {
      const pk = pks[Math.floor(Math.random() * pks.length)]!;
      await writerRequest({ action: 'patch', pk, data: { counter: ++writes } });
      await sleep(1000 / RATE);
    }
  })();
  const outages = [0.33, 0.66].map((at) => Math.floor(SECONDS * at * 1000));
  const chaos = (async () => {
    let second = 0;
    while (running) {
      await sleep(1000);
      second++;
      for (const subscriber of subscribers) {
        if (!subscriber.ws || Math.random() >= DROP) continue;
        subscriber.drop();
        void subscriber.connect().catch((error: unknown) => {
          console.error('reconnect failed', String(error));
          failed = true;
        });
      }
      const elapsed = Date.now() - started;
      if (outages.length && elapsed >= outages[0]!) {
        outages.shift();
        console.log(`t=${second}s: Redis unreachable for 5 s`);
        proxy.cut();
        setTimeout(() => proxy.restore(), 5000);
      }
      if (elapsed >= SECONDS * 1000) running = false;
    }
  })();
  await chaos;
  await writing;
  await Promise.all(gateways.map((gateway) => waitForHealth(gateway.url, 200, 30_000)));
  await sleep(3000); // let the last changes arrive (poll interval and resumes in flight)

  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const table = new Map((await client.query('select id, counter from things')).rows.map((row) => [Number(row.id), Number(row.counter)]));
  await client.end();
  let mismatched = 0;
  for (const subscriber of subscribers) {
    const same = subscriber.state.size === table.size && [...table].every(([pk, counter]) => subscriber.state.get(pk) === counter);
    if (!same) mismatched++;
  }
  const sum = (pick: (s: Subscriber) => number) => subscribers.reduce((total, s) => total + pick(s), 0);
  const figures = {
    subscribers: SOCKETS,
    writes,
    events: sum((s) => s.events),
    resumes: sum((s) => s.resumes),
    rereads: sum((s) => s.rereads),
    duplicated: sum((s) => s.duplicates),
    outOfOrder: sum((s) => s.outOfOrder),
    statesNotEqualToTable: mismatched,
  };
  console.log(JSON.stringify(figures, null, 2));
  if (figures.duplicated || figures.outOfOrder || mismatched) failed = true;
  writer.drop();
  for (const subscriber of subscribers) subscriber.drop();
} finally {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await proxy.close();
  await database.drop();
}
console.log(failed ? 'FAIL' : 'PASS');
process.exit(failed ? 1 : 0);
