/**
 * `fanout`: one write delivered to 1,000 and then 10,000 sockets subscribed with DCRF
 * `subscribe_instance` on a Thing — against a raw `ws` server broadcasting the same frame.
 * Deliveries per second and write→delivery latency, measured in the subscriber processes.
 */
import { log, startClients, startServer, stopAll, TARGETS, urlFor, type Settings } from '../lib/harness.js';
import type { CaseResult, Row, TargetRun } from '../lib/results.js';
import { Child } from '../lib/child.js';
import { measureFanout } from './fanout-run.js';

export async function fanoutCase(settings: Settings): Promise<CaseResult> {
  const steps = settings.smoke ? [100, 300] : [1000, 10_000];
  const processes = settings.smoke ? 2 : 4;
  const targets = [TARGETS.system, TARGETS.broadcast];
  const runs: Record<string, TargetRun[]>[] = steps.map(() => Object.fromEntries(targets.map((target) => [target, []])));
  const subscribers = await startClients('clients/subscribers.ts', processes);
  const writer = Child.start('writer', 'clients/writer.ts');
  await writer.ready;
  try {
    for (let run = 1; run <= settings.runs; run++) {
      log(`fanout run ${run}/${settings.runs}`);
      for (const target of targets) {
        const server = await startServer(target, settings);
        try {
          const url = urlFor(target, server.port, 'things');
          const perStep = await measureFanout(target, server, subscribers, writer, {
            url,
            writerUrl: url,
            writerKind: target === TARGETS.system ? 'dcrf' : 'raw',
            subscription: target === TARGETS.system ? 'dcrf-instance' : 'none',
            steps,
            warmupWrites: 3,
            maxWrites: settings.smoke ? 10 : 60,
            measureMs: settings.smoke ? 1000 : 3000,
          });
          perStep.forEach((result, i) => runs[i]![target]!.push(result));
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    await stopAll([...subscribers, writer]);
  }
  const rows: Row[] = steps.map((step, i) => ({
    id: `fanout@${step}`,
    title: `one write (DCRF patch) delivered to ${step.toLocaleString('en')} sockets subscribed with subscribe_instance`,
    primary: 'throughput',
    unit: 'deliveries/s',
    system: TARGETS.system,
    baselines: [TARGETS.broadcast],
    runs: runs[i]!,
    goals:
      step >= 10_000
        ? [
            { metric: 'ratio', baseline: TARGETS.broadcast, op: '>=', value: 0.5 },
            { metric: 'p99Ms', op: '<=', value: 50 },
          ]
        : [],
  }));
  return { name: 'fanout', available: true, rows };
}
