/**
 * `postgres`: the demo app on PostgreSQL against a hand-written `ws` + `pg` server running the same
 * statements (bench/servers/raw.ts `pg`), on databases of their own on BENCH_DATABASE_URL's server:
 *   retrieve   100 sockets, one `retrieve` in flight each
 *   patch      100 sockets, each patching its own row
 *   crud-mix   80% retrieve, 10% list, 10% patch
 *   fan-out    two processes of each on one database, events through Redis (BENCH_REDIS_URL): one
 *              patch of the watched Thing sent to the first process, delivered to 1,000 sockets
 *              split over both (`subscribe_instance`; the raw servers relay the patch's event)
 */
import { randomBytes } from 'node:crypto';
import { createTestDatabase } from '../../test/helpers/postgres.js';
import { Child } from '../lib/child.js';
import {
  BENCH_DATABASE_URL,
  BENCH_REDIS_URL,
  log,
  sourceAddress,
  split,
  startClients,
  startServer,
  stopAll,
  TARGETS,
  urlFor,
  type RunningServer,
  type Settings,
} from '../lib/harness.js';
import type { CaseResult, Row, TargetRun } from '../lib/results.js';
import type { Workload } from '../lib/workloads.js';
import { fanoutWritePlan, measureWrites } from './fanout-writes.js';
import { requestRows } from './request-reply.js';

const REQUEST_TARGETS = [TARGETS.pgSystem, TARGETS.pgRaw];
const FANOUT_TARGETS = [TARGETS.pgRedisSystem, TARGETS.pgRedisRaw];

export async function postgresCase(settings: Settings): Promise<CaseResult> {
  const sockets = settings.smoke ? 20 : 100;
  const rows: Row[] = [];
  const requestRow = async (workload: Workload, title: string, goal?: number) => {
    const runs = await requestRows(
      REQUEST_TARGETS.map((name) => ({ name, checkStatus: true })),
      { workload, sockets, clientProcesses: 1, path: 'things', serverEnv: { THINGS: String(Math.max(20, sockets)) } },
      settings,
    );
    rows.push({
      id: `pg-${workload}`,
      title: `PostgreSQL: ${title}, ${sockets} sockets, one request in flight each`,
      primary: 'throughput',
      unit: 'ops/s',
      system: TARGETS.pgSystem,
      baselines: [TARGETS.pgRaw],
      runs,
      goals: goal === undefined ? [] : [{ metric: 'ratio', baseline: TARGETS.pgRaw, op: '>=', value: goal }],
    });
  };
  await requestRow('retrieve', 'DCRF retrieve on things', 0.7);
  await requestRow('patch', 'DCRF patch, each socket its own row', 0.6);
  await requestRow('crud-mix', '80% retrieve / 10% list / 10% patch');
  const subscribers = settings.smoke ? 100 : 1000;
  rows.push({
    id: 'pg-fanout',
    title: `PostgreSQL + Redis, 2 processes: one patch delivered to ${subscribers.toLocaleString('en')} sockets split over both`,
    primary: 'throughput',
    unit: 'deliveries/s',
    system: TARGETS.pgRedisSystem,
    baselines: [TARGETS.pgRedisRaw],
    runs: await scaleOutFanout(settings, subscribers),
    goals: [],
  });
  return { name: 'postgres', available: true, rows };
}

/** Two server processes per target on one fresh database and a Redis prefix of their own. */
async function startPair(target: string, settings: Settings): Promise<{ servers: RunningServer[]; stop(): Promise<void> }> {
  const database = await createTestDatabase(BENCH_DATABASE_URL);
  const env = {
    BENCH_DATABASE_URL: database.url,
    REDIS_URL: BENCH_REDIS_URL,
    REDIS_PREFIX: `dcrf-bench-${randomBytes(6).toString('hex')}:`,
  };
  const servers: RunningServer[] = [];
  const stop = async () => {
    await stopAll(servers);
    await database.drop();
  };
  try {
    // One after the other: the first makes the schema and the rows.
    servers.push(await startServer(target, settings, { env }));
    servers.push(await startServer(target, settings, { env: { ...env, BENCH_SEED: '0' } }));
  } catch (error) {
    await stop();
    throw error;
  }
  return { servers, stop };
}

async function scaleOutFanout(settings: Settings, sockets: number): Promise<Record<string, TargetRun[]>> {
  const runs: Record<string, TargetRun[]> = Object.fromEntries(FANOUT_TARGETS.map((target) => [target, []]));
  const subscribers = await startClients('clients/subscribers.ts', 2);
  const writer = Child.start('writer', 'clients/writer.ts');
  const pairs = new Map<string, Awaited<ReturnType<typeof startPair>>>();
  try {
    await writer.ready;
    for (const target of FANOUT_TARGETS) pairs.set(target, await startPair(target, settings));
    for (let run = 1; run <= settings.runs; run++) {
      log(`postgres fan-out run ${run}/${settings.runs}`);
      for (const target of FANOUT_TARGETS) {
        const { servers } = pairs.get(target)!;
        const raw = target === TARGETS.pgRedisRaw;
        try {
          const shares = split(sockets, subscribers.length);
          // Subscriber process i holds its sockets on server i: half the deliveries cross Redis to the other process.
          await Promise.all(
            subscribers.map((client, i) =>
              client.call(
                'open',
                {
                  url: urlFor(target, servers[i % servers.length]!.port, 'things'),
                  sockets: shares[i],
                  localAddress: sourceAddress(i),
                  subscription: raw ? 'raw' : 'dcrf-instance',
                },
                300_000,
              ),
            ),
          );
          await writer.call('open', { url: urlFor(target, servers[0]!.port, 'things'), kind: 'dcrf' });
          runs[target]!.push(await measureWrites(target, servers, subscribers, writer, sockets, fanoutWritePlan(settings.smoke)));
          await writer.call('close');
        } finally {
          await Promise.all(subscribers.map((client) => client.call('close').catch(() => undefined)));
        }
      }
    }
  } finally {
    await stopAll([...subscribers, writer]);
    await Promise.all([...pairs.values()].map((pair) => pair.stop().catch(() => undefined)));
  }
  return runs;
}
