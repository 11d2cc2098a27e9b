/**
 * The 10,000-socket measurements, `idle` and `fanout`, share their sockets (opening 10,000 sockets is
 * most of their time): per target and run, open the sockets idle and read the server's memory per
 * socket, then subscribe 1,000 of them and measure fan-out, then subscribe the rest and measure again.
 * Run once per harness invocation, for whichever of the two cases were asked for.
 */
import { Child } from '../lib/child.js';
import { log, sleep, sourceAddress, split, startClients, startServer, stopAll, TARGETS, urlFor, type Settings } from '../lib/harness.js';
import type { TargetRun } from '../lib/results.js';
import { fanoutWritePlan, measureWrites } from './fanout-writes.js';

export interface SocketScaleResult {
  sockets: number;
  steps: number[];
  /** target → runs; only when `idle` was asked for. */
  idle: Record<string, TargetRun[]>;
  /** One record per step: target → runs; only when `fanout` was asked for. */
  fanout: Record<string, TargetRun[]>[];
}

export const SCALE_TARGETS = [TARGETS.system, TARGETS.broadcast];

let shared: Promise<SocketScaleResult> | undefined;

/** The shared measurement, started by whichever of `idle` and `fanout` runs first. */
export function socketScale(settings: Settings): Promise<SocketScaleResult> {
  const wanted = settings.cases ?? ['idle', 'fanout'];
  shared ??= measure(settings, wanted.includes('idle'), wanted.includes('fanout'));
  return shared;
}

async function measure(settings: Settings, idle: boolean, fanout: boolean): Promise<SocketScaleResult> {
  const sockets = settings.smoke ? 300 : 10_000;
  const steps = settings.smoke ? [100, 300] : [1000, 10_000];
  const processes = settings.smoke ? 2 : 4;
  const result: SocketScaleResult = {
    sockets,
    steps,
    idle: Object.fromEntries(SCALE_TARGETS.map((target) => [target, []])),
    fanout: steps.map(() => Object.fromEntries(SCALE_TARGETS.map((target) => [target, []]))),
  };
  const subscribers = await startClients('clients/subscribers.ts', processes);
  const writer = Child.start('writer', 'clients/writer.ts');
  await writer.ready;
  try {
    for (let run = 1; run <= settings.runs; run++) {
      log(`${[idle && 'idle', fanout && 'fanout'].filter(Boolean).join(' + ')} run ${run}/${settings.runs}`);
      for (const target of SCALE_TARGETS) {
        const server = await startServer(target, settings, { nodeArgs: ['--expose-gc'] });
        const system = target === TARGETS.system;
        const url = urlFor(target, server.port, 'things');
        try {
          const before = await server.child.call('memory', { gc: true });
          const started = Date.now();
          const shares = split(sockets, subscribers.length);
          await Promise.all(
            subscribers.map((client, i) =>
              client.call('open', { url, sockets: shares[i], localAddress: sourceAddress(i), subscription: 'none' }, 300_000),
            ),
          );
          log(`  ${target}: ${sockets} sockets open in ${((Date.now() - started) / 1000).toFixed(1)} s`);
          if (idle) {
            await sleep(300);
            const after = await server.child.call('memory', { gc: true });
            const perSocketKB = (after.rssBytes - before.rssBytes) / sockets / 1024;
            log(
              `  ${target}: ${perSocketKB.toFixed(2)} KiB RSS per idle socket (heap ${((after.heapUsedBytes - before.heapUsedBytes) / sockets / 1024).toFixed(2)} KiB)`,
            );
            result.idle[target]!.push(idleRun(after.rssBytes, perSocketKB));
          }
          if (fanout) {
            await writer.call('open', { url, kind: system ? 'dcrf' : 'raw' });
            let subscribed = 0;
            for (const [i, step] of steps.entries()) {
              const adding = split(step - subscribed, subscribers.length);
              await Promise.all(
                subscribers.map((client, j) =>
                  client.call('subscribe', { count: adding[j], subscription: system ? 'dcrf-instance' : 'raw' }, 300_000),
                ),
              );
              subscribed = step;
              result.fanout[i]![target]!.push(
                await measureWrites(target, server, subscribers, writer, step, fanoutWritePlan(settings.smoke)),
              );
            }
            await writer.call('close');
          }
        } finally {
          await Promise.all(subscribers.map((client) => client.call('close').catch(() => undefined)));
          await server.stop();
        }
      }
    }
  } finally {
    await stopAll([...subscribers, writer]);
  }
  return result;
}

function idleRun(rssBytes: number, perSocketKB: number): TargetRun {
  return {
    throughput: Number.NaN,
    p50Ms: Number.NaN,
    p90Ms: Number.NaN,
    p99Ms: Number.NaN,
    cpuUsPerOp: Number.NaN,
    rssMB: rssBytes / 1048576,
    perSocketKB,
    errors: 0,
  };
}
