/**
 * `graphql`: the demo's GraphQL endpoint (graphql-transport-ws on /graphql) against stock graphql-ws
 * `useServer` + graphql-subscriptions' PubSub serving the same schema subset.
 *   query   100 sockets, one `thing(id)` query in flight each: queries per second
 *   fan-out one `patchThing` delivered to 500 sockets subscribed to `thingChanged(id)`; the raw `ws`
 *           broadcast of a frame of the same size runs beside them as the ceiling of any server
 *           that sends one frame per subscriber, and the same broadcast with a frame of its own per
 *           subscriber (its id) sent with a write callback, the ceiling of a server that names each
 *           subscriber's operation and bounds its unsent output, as graphql-ws servers do
 */
import { Child } from '../lib/child.js';
import {
  log,
  sleep,
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
import type { CaseResult, TargetRun } from '../lib/results.js';
import { fanoutWritePlan, measureWrites } from './fanout-writes.js';
import { requestRows } from './request-reply.js';

const GQL_TARGETS = [TARGETS.system, TARGETS.stockGraphql];
const FANOUT_TARGETS = [...GQL_TARGETS, TARGETS.broadcast, TARGETS.broadcastOwnFrames];
const FANOUT_SOCKETS = (settings: Settings) => (settings.smoke ? 100 : 500);

export async function graphqlCase(settings: Settings): Promise<CaseResult> {
  if (!(await graphqlWired(settings)))
    return { name: 'graphql', available: false, note: 'the demo app (startDemo) serves no GraphQL endpoint', rows: [] };

  const sockets = settings.smoke ? 20 : 100;
  const queryRuns = await requestRows(
    GQL_TARGETS.map((name) => ({ name, checkStatus: true })),
    { workload: 'graphql-query', sockets, clientProcesses: 1, path: 'graphql' },
    settings,
  );
  const fanoutRuns = await graphqlFanout(settings);
  const subscribers = FANOUT_SOCKETS(settings);
  return {
    name: 'graphql',
    available: true,
    rows: [
      {
        id: 'graphql-query',
        title: `GraphQL query thing(id) over graphql-transport-ws, ${sockets} sockets, one query in flight each`,
        primary: 'throughput',
        unit: 'queries/s',
        system: TARGETS.system,
        baselines: [TARGETS.stockGraphql],
        runs: queryRuns,
        goals: [{ metric: 'ratio', baseline: TARGETS.stockGraphql, op: '>=', value: 3 }],
      },
      {
        id: 'graphql-fanout',
        title: `one patchThing mutation delivered to ${subscribers.toLocaleString('en')} sockets subscribed to thingChanged(id)`,
        primary: 'throughput',
        unit: 'deliveries/s',
        system: TARGETS.system,
        baselines: [TARGETS.stockGraphql, TARGETS.broadcast, TARGETS.broadcastOwnFrames],
        runs: fanoutRuns,
        goals: [{ metric: 'ratio', baseline: TARGETS.broadcast, op: '>=', value: 0.85 }],
      },
    ],
  };
}

async function graphqlFanout(settings: Settings): Promise<Record<string, TargetRun[]>> {
  const sockets = FANOUT_SOCKETS(settings);
  const runs: Record<string, TargetRun[]> = Object.fromEntries(FANOUT_TARGETS.map((target) => [target, []]));
  const subscribers = await startClients('clients/subscribers.ts', 2);
  const writer = Child.start('writer', 'clients/writer.ts');
  const servers = new Map<string, RunningServer>();
  try {
    await writer.ready;
    await Promise.all(FANOUT_TARGETS.map(async (target) => servers.set(target, await startServer(target, settings))));
    for (let run = 1; run <= settings.runs; run++) {
      log(`graphql fan-out run ${run}/${settings.runs}`);
      for (const target of FANOUT_TARGETS) {
        const server = servers.get(target)!;
        const raw = target === TARGETS.broadcast || target === TARGETS.broadcastOwnFrames;
        try {
          const url = urlFor(target, server.port, 'graphql');
          const shares = split(sockets, subscribers.length);
          const subscription = raw ? 'raw' : 'graphql-thing';
          await Promise.all(
            subscribers.map((client, i) =>
              client.call('open', { url, sockets: shares[i], localAddress: sourceAddress(i), subscription }, 300_000),
            ),
          );
          await writer.call('open', { url, kind: raw ? 'raw-graphql' : 'graphql' });
          // graphql-ws does not acknowledge a subscribe: give the subscriptions a moment to go live.
          if (!raw) await sleep(1000);
          runs[target]!.push(await measureWrites(target, server, subscribers, writer, sockets, fanoutWritePlan(settings.smoke)));
          await writer.call('close');
        } finally {
          await Promise.all(subscribers.map((client) => client.call('close').catch(() => undefined)));
        }
      }
    }
  } finally {
    await stopAll([...subscribers, writer, ...servers.values()]);
  }
  return runs;
}

/** Whether the demo app serves GraphQL (its server says so when it is ready). */
async function graphqlWired(settings: Settings): Promise<boolean> {
  const probe = await startServer(TARGETS.system, settings);
  await stopAll([probe]);
  return Boolean(probe.graphql);
}
