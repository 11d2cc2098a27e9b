/**
 * `patch`: 100 sockets, each patching its own Thing with one request in flight — the write path alone.
 * Against a raw `ws` + better-sqlite3 server doing what a DCRF patch promises in one transaction
 * (the lookup, a 404 if missing, the UPDATE, the read-back of the row). Two rows: nobody observes the
 * model (no change record is made), and the model observed by one in-process subscriber (each patch
 * is captured, appended to the change log and published after its commit; no socket delivery).
 */
import { TARGETS, type Settings } from '../lib/harness.js';
import type { CaseResult } from '../lib/results.js';
import { requestRows } from './request-reply.js';

export async function patchCase(settings: Settings): Promise<CaseResult> {
  const sockets = settings.smoke ? 20 : 100;
  const runs = await requestRows(
    [
      { name: TARGETS.system, checkStatus: true },
      { name: TARGETS.systemObserved, checkStatus: true },
      { name: TARGETS.sqlite, checkStatus: true },
    ],
    // One row per socket, and at least the 20 every other case seeds.
    { workload: 'patch', sockets, clientProcesses: 1, path: 'things', serverEnv: { THINGS: String(Math.max(20, sockets)) } },
    settings,
  );
  const row = (id: string, system: string, title: string) => ({
    id,
    title,
    primary: 'throughput' as const,
    unit: 'ops/s',
    system,
    baselines: [TARGETS.sqlite],
    runs: { [system]: runs[system]!, [TARGETS.sqlite]: runs[TARGETS.sqlite]! },
    goals: [{ metric: 'ratio' as const, baseline: TARGETS.sqlite, op: '>=' as const, value: 0.5 }],
  });
  return {
    name: 'patch',
    available: true,
    rows: [
      row('patch', TARGETS.system, `DCRF patch on things, ${sockets} sockets each patching its own row, nobody subscribed`),
      {
        ...row('patch-observed', TARGETS.systemObserved, `the same with the Thing model observed (captured, logged, published)`),
        goals: [{ metric: 'cpuUsPerOp', op: '<=', value: 150 }],
      },
    ],
  };
}
