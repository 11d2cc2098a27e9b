/**
 * Request/reply cases: `retrieve` and `crud-mix` (and the GraphQL query row): a fixed number of
 * sockets, each with one request in flight, against the system and each baseline in turn.
 */
import type { Child } from '../lib/child.js';
import { Histogram } from '../lib/histogram.js';
import {
  log,
  sleep,
  startClients,
  startServer,
  stopAll,
  targetRun,
  urlFor,
  sourceAddress,
  split,
  type RunningServer,
  type Settings,
} from '../lib/harness.js';
import type { TargetRun } from '../lib/results.js';
import type { Workload } from '../lib/workloads.js';

export interface RequestLoad {
  workload: Workload;
  sockets: number;
  clientProcesses: number;
  path: 'things' | 'graphql';
  /** Environment for every target's server (e.g. THINGS: rows to seed). */
  serverEnv?: Record<string, string>;
}

/** One run of one target: open the sockets on its (running) server, warm up, measure, close them. */
export async function measureRequests(
  target: string,
  server: RunningServer,
  load: RequestLoad,
  clients: Child[],
  settings: Settings,
  checkStatus: boolean,
): Promise<TargetRun> {
  const url = urlFor(target, server.port, load.path);
  const shares = split(load.sockets, clients.length);
  await Promise.all(
    clients.map((client, i) =>
      client.call('open', { url, sockets: shares[i], localAddress: sourceAddress(i), workload: load.workload, checkStatus }),
    ),
  );
  await Promise.all(clients.map((client) => client.call('start')));
  await sleep(settings.warmupMs);
  await Promise.all([server.child.call('mark'), ...clients.map((client) => client.call('begin'))]);
  await sleep(settings.measureMs);
  const [usage, ...reports] = await Promise.all([server.child.call('usage'), ...clients.map((client) => client.call('end'))]);
  await Promise.all(clients.map((client) => client.call('stop')));
  const ops = reports.reduce((sum, report) => sum + report.ops, 0);
  const errors = reports.reduce((sum, report) => sum + report.errors, 0);
  const run = targetRun(
    reports.map((report) => Histogram.fromJSON(report.histogram)),
    ops,
    usage.wallUs,
    usage,
    errors,
  );
  log(
    `  ${target}: ${Math.round(run.throughput)} ops/s, p99 ${run.p99Ms.toFixed(2)} ms, ${run.cpuUsPerOp.toFixed(1)} µs CPU/op${errors ? `, ${errors} errors` : ''}`,
  );
  return run;
}

/**
 * Runs every target `settings.runs` times, interleaved (run 1 of each, then run 2, ...). Each target's
 * server is started once for the case; every run opens fresh sockets on it.
 */
export async function requestRows(
  targets: { name: string; checkStatus: boolean }[],
  load: RequestLoad,
  settings: Settings,
): Promise<Record<string, TargetRun[]>> {
  const clients = await startClients('clients/requests.ts', load.clientProcesses);
  const servers = new Map<string, RunningServer>();
  const runs: Record<string, TargetRun[]> = Object.fromEntries(targets.map((target) => [target.name, []]));
  try {
    await Promise.all(
      targets.map(async (target) => servers.set(target.name, await startServer(target.name, settings, { env: load.serverEnv }))),
    );
    for (let run = 1; run <= settings.runs; run++) {
      log(`${load.workload} run ${run}/${settings.runs}`);
      for (const target of targets) {
        runs[target.name]!.push(await measureRequests(target.name, servers.get(target.name)!, load, clients, settings, target.checkStatus));
      }
    }
  } finally {
    await stopAll([...clients, ...servers.values()]);
  }
  return runs;
}
