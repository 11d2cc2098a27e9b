/**
 * `npx tsx bench/scaleout.ts [--subscribers N] [--writes N] [--samples N]`: what the Redis hop costs.
 *
 * Every configuration runs real gateway processes (`src/cli.ts serve`) on one fresh PostgreSQL
 * database (BENCH_DATABASE_URL, default the machine's `test`; a database of its own is created and
 * dropped) and, for the Redis ones, a Redis (BENCH_REDIS_URL, default local) under a channel prefix
 * of its own:
 * - fan-out: N sockets subscribe_many on `things` (split evenly over the processes), 4 writers on
 *   the first process pipeline W patches in all; deliveries/s = N × W / time to the last delivery;
 * - latency: one subscriber, sequential patches; time from sending the patch to receiving its event,
 *   p50/p99, with the subscriber on the writer's process (in-process PubSub) and on the other
 *   process (Redis), so the difference is the Redis hop.
 * The clients run in this process, on the same cores as the servers: numbers are comparative.
 */
import { WebSocket } from 'ws';
import { createTestDatabase, uniqueRedisPrefix } from '../test/helpers/postgres.js';
import { GatewayProcess } from '../test/helpers/scaleout.js';
import { option } from './lib/options.js';

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const SUBSCRIBERS = Number(option('subscribers', '200'));
const WRITES = Number(option('writes', '200'));
const SAMPLES = Number(option('samples', '300'));

/** A raw DCRF socket that counts frames and can wait for one matching a test. */
class Client {
  received = 0;
  private waiter: ((frame: any) => boolean) | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.received++;
      if (this.waiter) {
        const frame = JSON.parse(data.toString());
        if (this.waiter(frame)) this.waiter = undefined;
      }
    });
  }

  static open(url: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
    });
  }

  /** Sends a frame and resolves with the first frame `matches` accepts. */
  request(frame: object, matches: (frame: any) => boolean = () => true): Promise<any> {
    return new Promise((resolve) => {
      this.waiter = (incoming) => {
        if (!matches(incoming)) return false;
        resolve(incoming);
        return true;
      };
      this.ws.send(JSON.stringify(frame));
    });
  }

  close(): void {
    this.ws.close();
  }
}

interface Setup {
  name: string;
  processes: number;
  redis: boolean;
}

async function withGateways<T>(setup: Setup, work: (gateways: GatewayProcess[]) => Promise<T>): Promise<T> {
  const database = await createTestDatabase(DATABASE_URL);
  // Its subscribers all come from loopback: no socket caps (0), the defaults would refuse past 256.
  const env: Record<string, string> = { DATABASE_URL: database.url, LOG_LEVEL: 'info', MAX_SOCKETS_PER_IP: '0', MAX_SOCKETS: '0' };
  if (setup.redis) Object.assign(env, { REDIS_URL: REDIS_URL, REDIS_PREFIX: uniqueRedisPrefix() });
  const gateways: GatewayProcess[] = [];
  try {
    // One after the other: the first runs the migrations.
    for (let i = 0; i < setup.processes; i++) gateways.push(await GatewayProcess.start(env));
    return await work(gateways);
  } finally {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await database.drop();
  }
}

async function createRow(gateway: GatewayProcess): Promise<{ client: Client; pk: number }> {
  const client = await Client.open(`${gateway.wsUrl}/ws/things/`);
  const created = await client.request({ action: 'create', data: { name: 'bench' }, request_id: 'create' });
  return { client, pk: created.data.pk };
}

const WRITERS = 4;

async function fanout(setup: Setup): Promise<number> {
  return withGateways(setup, async (gateways) => {
    // Several writers, each pipelining patches of its own row on the first process: the server,
    // not the client's round trips, sets the pace.
    const writers = await Promise.all(Array.from({ length: WRITERS }, () => createRow(gateways[0]!)));
    const subscribers: Client[] = [];
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const client = await Client.open(`${gateways[i % gateways.length]!.wsUrl}/ws/things/`);
      await client.request({ action: 'subscribe_many', request_id: i });
      client.received = 0;
      subscribers.push(client);
    }
    const expected = SUBSCRIBERS * WRITES;
    const started = process.hrtime.bigint();
    for (let counter = 1; counter <= WRITES; counter++) {
      const { client, pk } = writers[counter % WRITERS]!;
      client.ws.send(JSON.stringify({ action: 'patch', pk, data: { counter }, request_id: `w${counter}` }));
    }
    const deadline = Date.now() + 120_000;
    const total = () => subscribers.reduce((sum, client) => sum + client.received, 0);
    while (total() < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (total() < expected) throw new Error(`${setup.name}: ${total()} of ${expected} deliveries arrived`);
    for (const client of [...writers.map((writer) => writer.client), ...subscribers]) client.close();
    return expected / seconds;
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Write→delivery latency (ms) with the subscriber on process `subscriberOn`. */
async function latency(setup: Setup, subscriberOn: number): Promise<{ p50: number; p99: number }> {
  return withGateways(setup, async (gateways) => {
    const { client: writer, pk } = await createRow(gateways[0]!);
    const subscriber = await Client.open(`${gateways[subscriberOn]!.wsUrl}/ws/things/`);
    await subscriber.request({ action: 'subscribe_many', request_id: 'lat' });
    const samples: number[] = [];
    for (let counter = 1; counter <= SAMPLES + 20; counter++) {
      const started = process.hrtime.bigint();
      const delivered = new Promise<void>((resolve) => {
        (subscriber as any).waiter = (frame: any) => {
          if (frame.request_id !== 'lat' || frame.data?.counter !== counter) return false;
          resolve();
          return true;
        };
      });
      writer.ws.send(JSON.stringify({ action: 'patch', pk, data: { counter }, request_id: `w${counter}` }));
      await delivered;
      if (counter > 20) samples.push(Number(process.hrtime.bigint() - started) / 1e6); // first 20 warm up
    }
    writer.close();
    subscriber.close();
    samples.sort((x, y) => x - y);
    return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
  });
}

const ONE_LOCAL: Setup = { name: '1 process, in-process PubSub', processes: 1, redis: false };
const ONE_REDIS: Setup = { name: '1 process, Redis', processes: 1, redis: true };
const TWO_REDIS: Setup = { name: '2 processes, Redis', processes: 2, redis: true };

console.log(`fan-out: ${SUBSCRIBERS} subscribers × ${WRITES} writes (PostgreSQL)`);
for (const setup of [ONE_LOCAL, ONE_REDIS, TWO_REDIS]) {
  const rate = await fanout(setup);
  console.log(`  ${setup.name.padEnd(32)} ${Math.round(rate).toLocaleString('en-US').padStart(8)} deliveries/s`);
}
console.log(`write→delivery latency: ${SAMPLES} sequential patches (ms)`);
const rows: Array<[string, { p50: number; p99: number }]> = [
  ['same process, in-process PubSub', await latency(ONE_LOCAL, 0)],
  ['same process, via Redis', await latency(ONE_REDIS, 0)],
  ['other process, via Redis', await latency(TWO_REDIS, 1)],
];
for (const [name, { p50, p99 }] of rows)
  console.log(`  ${name.padEnd(32)} p50 ${p50.toFixed(2).padStart(6)}  p99 ${p99.toFixed(2).padStart(6)}`);
const base = rows[0]![1];
const hop = rows[2]![1];
console.log(
  `  added by the Redis hop (other process vs in-process): p50 +${(hop.p50 - base.p50).toFixed(2)} ms, p99 +${(hop.p99 - base.p99).toFixed(2)} ms`,
);
