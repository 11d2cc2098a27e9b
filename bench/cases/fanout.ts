/**
 * `fanout`: one write (a DCRF `patch` of a Thing) delivered to 1,000 and then 10,000 sockets
 * subscribed with `subscribe_instance` — against a raw `ws` server broadcasting the same frame to
 * its subscribed sockets. Deliveries per second and write→delivery latency, measured in the
 * subscriber processes.
 */
import { TARGETS, type Settings } from '../lib/harness.js';
import type { CaseResult } from '../lib/results.js';
import { socketScale } from './socket-scale.js';

export async function fanoutCase(settings: Settings): Promise<CaseResult> {
  const result = await socketScale(settings);
  return {
    name: 'fanout',
    available: true,
    rows: result.steps.map((step, i) => ({
      id: `fanout@${step}`,
      title: `one write (DCRF patch) delivered to ${step.toLocaleString('en')} sockets subscribed with subscribe_instance`,
      primary: 'throughput',
      unit: 'deliveries/s',
      system: TARGETS.system,
      baselines: [TARGETS.broadcast],
      runs: result.fanout[i]!,
      goals:
        step >= 10_000
          ? [
              { metric: 'ratio', baseline: TARGETS.broadcast, op: '>=', value: 0.95 },
              { metric: 'p99Ms', baseline: TARGETS.broadcast, op: '<=', value: 1.1 },
            ]
          : [],
    })),
  };
}
