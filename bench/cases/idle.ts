/**
 * `idle`: server memory per idle socket at 10,000 sockets — DCRF sockets on /ws/things (each with its
 * consumer) against plain `ws` sockets on the raw server. RSS after a full GC, before and after
 * opening them (the sockets are then reused by `fanout`).
 */
import { TARGETS, type Settings } from '../lib/harness.js';
import type { CaseResult } from '../lib/results.js';
import { socketScale } from './socket-scale.js';

export async function idleCase(settings: Settings): Promise<CaseResult> {
  const result = await socketScale(settings);
  return {
    name: 'idle',
    available: true,
    rows: [
      {
        id: 'idle',
        title: `server RSS growth per idle socket at ${result.sockets.toLocaleString('en')} sockets (raw ws: the same sockets on a plain ws server)`,
        primary: 'perSocketKB',
        unit: 'KiB/socket',
        system: TARGETS.system,
        baselines: [TARGETS.broadcast],
        runs: result.idle,
        goals: [{ metric: 'ratio', baseline: TARGETS.broadcast, op: '<=', value: 1.2 }],
      },
    ],
  };
}
