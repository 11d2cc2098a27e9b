/**
 * A quicker look at idle memory than the `idle` case: `node --import tsx bench/cases/idle-probe.ts
 * [--sockets N] [--runs N] [--snapshot DIR]` opens N idle sockets (default 3,000) on the DCRF server
 * (/ws/things) and on the raw `ws` server, interleaved, and prints heap and RSS growth per socket
 * after a full GC, with their medians. `--snapshot DIR` also has each server write a heap snapshot
 * before and after opening the sockets (compare them in Chrome DevTools' "Comparison" view).
 */
import fs from 'node:fs';
import path from 'node:path';
import { log, sleep, sourceAddress, split, startClients, startServer, stopAll, TARGETS, urlFor, type Settings } from '../lib/harness.js';

function option(name: string, fallback: string | undefined): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const sockets = Number(option('--sockets', '3000'));
const runs = Number(option('--runs', '3'));
const snapshotDir = option('--snapshot', undefined);
const settings: Settings = { smoke: false, runs, warmupMs: 0, measureMs: 0 };
const targets = [TARGETS.system, TARGETS.broadcast];
const figures: Record<string, { heap: number[]; rss: number[] }> = Object.fromEntries(
  targets.map((target) => [target, { heap: [], rss: [] }]),
);

/** Asks a server (started with --heapsnapshot-signal) for a heap snapshot and waits for the file. */
async function snapshot(pid: number, label: string): Promise<void> {
  if (!snapshotDir) return;
  const before = new Set(fs.readdirSync(snapshotDir));
  process.kill(pid, 'SIGUSR2');
  for (let waited = 0; waited < 120_000; waited += 500) {
    await sleep(500);
    const made = fs.readdirSync(snapshotDir).filter((name) => !before.has(name) && name.endsWith('.heapsnapshot'));
    const file = made[0];
    if (file && fs.statSync(path.join(snapshotDir, file)).size > 0) {
      await sleep(2000);
      fs.renameSync(path.join(snapshotDir, file), path.join(snapshotDir, `${label}.heapsnapshot`));
      return;
    }
  }
  throw new Error(`no heap snapshot from ${pid}`);
}

if (snapshotDir) fs.mkdirSync(snapshotDir, { recursive: true });
const clients = await startClients('clients/subscribers.ts', 2);
try {
  for (let run = 1; run <= runs; run++) {
    for (const target of targets) {
      const nodeArgs = ['--expose-gc', ...(snapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] : [])];
      const server = await startServer(target, settings, { nodeArgs });
      const label = target.replace(/\W+/g, '-');
      try {
        const url = urlFor(target, server.port, 'things');
        const before = await server.child.call('memory', { gc: true });
        if (run === 1) await snapshot(server.child.pid!, `${label}-before`);
        const shares = split(sockets, clients.length);
        await Promise.all(
          clients.map((client, i) =>
            client.call('open', { url, sockets: shares[i], localAddress: sourceAddress(i), subscription: 'none' }, 300_000),
          ),
        );
        await sleep(300);
        const after = await server.child.call('memory', { gc: true });
        if (run === 1) await snapshot(server.child.pid!, `${label}-after`);
        const heap = (after.heapUsedBytes - before.heapUsedBytes) / sockets / 1024;
        const rss = (after.rssBytes - before.rssBytes) / sockets / 1024;
        figures[target]!.heap.push(heap);
        figures[target]!.rss.push(rss);
        log(`run ${run} ${target}: heap ${heap.toFixed(2)} KiB, RSS ${rss.toFixed(2)} KiB per idle socket`);
      } finally {
        await Promise.all(clients.map((client) => client.call('close').catch(() => undefined)));
        await server.stop();
      }
    }
  }
} finally {
  await stopAll(clients);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const raw = figures[TARGETS.broadcast]!;
const ours = figures[TARGETS.system]!;
for (const target of targets) {
  const { heap, rss } = figures[target]!;
  log(`${target}: median heap ${median(heap).toFixed(2)} KiB, RSS ${median(rss).toFixed(2)} KiB per idle socket`);
}
log(`ratio: heap ${(median(ours.heap) / median(raw.heap)).toFixed(2)}×, RSS ${(median(ours.rss) / median(raw.rss)).toFixed(2)}×`);
