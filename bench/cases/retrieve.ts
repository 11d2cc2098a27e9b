/**
 * `retrieve`: 100 sockets, one request in flight each, DCRF `retrieve` on `things` — against a raw
 * `ws` echo (the ceiling) and a raw `ws` + better-sqlite3 server doing the same lookup and reply.
 */
import { TARGETS, type Settings } from '../lib/harness.js';
import type { CaseResult } from '../lib/results.js';
import { requestRows } from './request-reply.js';

export async function retrieveCase(settings: Settings): Promise<CaseResult> {
  const sockets = settings.smoke ? 20 : 100;
  const runs = await requestRows(
    [
      { name: TARGETS.system, checkStatus: true },
      { name: TARGETS.echo, checkStatus: false },
      { name: TARGETS.sqlite, checkStatus: true },
    ],
    { workload: 'retrieve', sockets, clientProcesses: 1, path: 'things' },
    settings,
  );
  return {
    name: 'retrieve',
    available: true,
    rows: [
      {
        id: 'retrieve',
        title: `DCRF retrieve on things, ${sockets} sockets, one request in flight each`,
        primary: 'throughput',
        unit: 'ops/s',
        system: TARGETS.system,
        baselines: [TARGETS.echo, TARGETS.sqlite],
        runs,
        goals: [{ metric: 'ratio', baseline: TARGETS.echo, op: '>=', value: 0.75 }],
      },
    ],
  };
}
