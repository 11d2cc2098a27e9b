/**
 * `crud-mix`: the same load as `retrieve`, but 80% retrieve, 10% list (all ~20 things), 10% patch.
 */
import { TARGETS, type Settings } from '../lib/harness.js';
import type { CaseResult } from '../lib/results.js';
import { requestRows } from './request-reply.js';

export async function crudMixCase(settings: Settings): Promise<CaseResult> {
  const sockets = settings.smoke ? 20 : 100;
  const runs = await requestRows(
    [
      { name: TARGETS.system, checkStatus: true },
      { name: TARGETS.echo, checkStatus: false },
      { name: TARGETS.sqlite, checkStatus: true },
    ],
    { workload: 'crud-mix', sockets, clientProcesses: 1, path: 'things' },
    settings,
  );
  return {
    name: 'crud-mix',
    available: true,
    rows: [
      {
        id: 'crud-mix',
        title: `80% retrieve / 10% list / 10% patch on things, ${sockets} sockets, one request in flight each`,
        primary: 'throughput',
        unit: 'ops/s',
        system: TARGETS.system,
        baselines: [TARGETS.echo, TARGETS.sqlite],
        runs,
        goals: [{ metric: 'ratio', baseline: TARGETS.sqlite, op: '>=', value: 0.7 }],
      },
    ],
  };
}
