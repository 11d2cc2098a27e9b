/**
 * `idle`: server memory per idle socket at 10,000 sockets — DCRF sockets on /ws/things (each with its
 * consumer) against plain `ws` sockets on an echo server. RSS after a full GC, before and after.
 */
import { log, sleep, sourceAddress, split, startClients, startServer, stopAll, TARGETS, urlFor, type Settings } from '../lib/harness.js';
import type { CaseResult, TargetRun } from '../lib/results.js';

export async function idleCase(settings: Settings): Promise<CaseResult> {
  const sockets = settings.smoke ? 500 : 10_000;
  const processes = settings.smoke ? 1 : 4;
  const targets = [TARGETS.system, TARGETS.echo];
  const runs: Record<string, TargetRun[]> = Object.fromEntries(targets.map((target) => [target, []]));
  const clients = await startClients('clients/subscribers.ts', processes);
  try {
    for (let run = 1; run <= settings.runs; run++) {
      log(`idle run ${run}/${settings.runs}`);
      for (const target of targets) {
        const server = await startServer(target, settings, ['--expose-gc']);
        try {
          const before = await server.child.call('memory', { gc: true });
          const shares = split(sockets, clients.length);
          await Promise.all(
            clients.map((client, i) =>
              client.call('open', { url: urlFor(target, server.port, 'things'), sockets: shares[i], localAddress: sourceAddress(i), subscription: 'none' }, 180_000),
            ),
          );
          await sleep(500);
          const after = await server.child.call('memory', { gc: true });
          const perSocketKB = (after.rssBytes - before.rssBytes) / sockets / 1024;
          log(`  ${target}: ${perSocketKB.toFixed(2)} KiB RSS per idle socket (heap ${((after.heapUsedBytes - before.heapUsedBytes) / sockets / 1024).toFixed(2)} KiB), RSS ${(after.rssBytes / 1048576).toFixed(0)} MiB`);
          runs[target]!.push({
            throughput: Number.NaN,
            p50Ms: Number.NaN,
            p90Ms: Number.NaN,
            p99Ms: Number.NaN,
            cpuUsPerOp: Number.NaN,
            rssMB: after.rssBytes / 1048576,
            perSocketKB,
            errors: 0,
          });
          await Promise.all(clients.map((client) => client.call('close')));
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    await stopAll(clients);
  }
  return {
    name: 'idle',
    available: true,
    rows: [
      {
        id: 'idle',
        title: `server RSS per idle socket at ${sockets.toLocaleString('en')} sockets`,
        primary: 'perSocketKB',
        unit: 'KiB/socket',
        system: TARGETS.system,
        baselines: [TARGETS.echo],
        runs,
        goals: [{ metric: 'ratio', baseline: TARGETS.echo, op: '<=', value: 1.5 }],
      },
    ],
  };
}
