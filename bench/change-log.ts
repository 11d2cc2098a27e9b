/**
 * `npx tsx bench/change-log.ts [--db sqlite|postgres] [--patches N] [--subscribers N]`: the change log's
 * cost, side by side in one run, with the log (default) and without it (`changeLog: false`, the
 * best-effort path before it), on the same kind of database:
 * - CPU per subscribed patch (a resource patch with one subscriber of the model topic);
 * - fan-out deliveries/s with N subscribers of the model topic, and write→delivery p50;
 * - a resume of 10,000 missed changes: time to catch up and CPU.
 * In-process PubSub, hub-level handlers (no sockets): the log's share of a socket round trip is smaller.
 * PostgreSQL: TEST_DATABASE_URL (a fresh database is created and dropped).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { openDemoDatabase } from '../src/demo/app.js';
import { Thing } from '../src/demo/models.js';
import { thingResource } from '../src/demo/resources.js';
import type { ChangeMessage } from '../src/events/records.js';
import { resourceCall } from '../src/resources/resource.js';
import { Runtime } from '../src/runtime.js';
import type { ConnectionScope } from '../src/scope.js';
import { createTestDatabase } from '../test/helpers/postgres.js';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const index = argv.indexOf(`--${name}`);
  return index >= 0 ? argv[index + 1]! : fallback;
};
const DB = option('db', 'sqlite');
const PATCHES = Number(option('patches', '2000'));
const SUBSCRIBERS = Number(option('subscribers', '1000'));
const RESUME = Number(option('resume', '10000'));

async function database(label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  if (DB === 'postgres') return createTestDatabase(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dcrf-bench-${label}-`));
  return { url: `sqlite:${path.join(dir, 'bench.sqlite3')}`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface Figures {
  patchCpuUs: number;
  deliveriesPerSecond: number;
  latencyP50Ms: number;
  resume?: { events: number; ms: number; cpuMs: number };
}

async function measure(withLog: boolean): Promise<Figures> {
  const db = await database(withLog ? 'log' : 'nolog');
  const knex: Knex = await openDemoDatabase(db.url);
  const runtime = await Runtime.create({ knex, changeLog: withLog });
  const scope = { user: null, runtime, extra: {} } as unknown as ConnectionScope;
  try {
    const thing = await Thing.query().insert({ name: 'bench' });
    // 1. CPU per subscribed patch.
    let received = 0;
    const close = await runtime.hub.subscribe(runtime.hub.modelTopic('Thing'), () => received++, 'Thing');
    for (let i = 0; i < 200; i++) await thingResource.patch(resourceCall(scope), thing.id, { counter: i }); // warm-up
    const start = process.cpuUsage();
    for (let i = 0; i < PATCHES; i++) await thingResource.patch(resourceCall(scope), thing.id, { counter: i });
    const patchCpuUs = (cpuMs(start) * 1000) / PATCHES;
    close();

    // 2. Fan-out and latency with SUBSCRIBERS handlers.
    const closers: Array<() => void> = [];
    let deliveries = 0;
    let expected = 0;
    let sentAt = 0;
    const latencies: number[] = [];
    let done: () => void = () => undefined;
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const first = i === 0;
      closers.push(
        await runtime.hub.subscribe(
          runtime.hub.modelTopic('Thing'),
          () => {
            if (first) latencies.push(performance.now() - sentAt);
            if (++deliveries === expected) done();
          },
          'Thing',
        ),
      );
    }
    const writes = 200;
    expected = writes * SUBSCRIBERS;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const began = performance.now();
    for (let i = 0; i < writes; i++) {
      sentAt = performance.now();
      await thingResource.patch(resourceCall(scope), thing.id, { counter: i });
    }
    await finished;
    const deliveriesPerSecond = deliveries / ((performance.now() - began) / 1000);
    for (const each of closers) each();

    // 3. A resume of RESUME missed changes.
    let resume: Figures['resume'];
    if (withLog) {
      const keep = await runtime.hub.subscribe(runtime.hub.modelTopic('Thing'), () => undefined, 'Thing');
      const position = await runtime.changeLog.head();
      await knex.transaction(async (trx) => {
        for (let i = 0; i < RESUME; i += 500)
          await Thing.query(trx).insert(Array.from({ length: Math.min(500, RESUME - i) }, (_, k) => ({ name: `r${i + k}` })));
      });
      let replayed = 0;
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      const caughtUp = new Promise<void>((resolve) => {
        void runtime.hub
          .subscribeFrom(
            runtime.hub.modelTopic('Thing'),
            (message: ChangeMessage) => {
              if (message.action === 'create' && ++replayed === RESUME) resolve();
            },
            'Thing',
            position,
          )
          .then((closer) => closers.push(closer));
      });
      await caughtUp;
      resume = { events: RESUME, ms: performance.now() - t0, cpuMs: cpuMs(cpu) };
      keep();
      for (const each of closers) each();
    }
    void received;
    return { patchCpuUs, deliveriesPerSecond, latencyP50Ms: median(latencies), resume };
  } finally {
    await runtime.close();
    await knex.destroy();
    await db.drop();
  }
}

// Each side twice, alternating, keeping the second: the first runs warm the JIT.
await measure(false);
await measure(true);
const without = await measure(false);
const withLog = await measure(true);
const ratio = (a: number, b: number) => (a / b).toFixed(3);
console.log(`database: ${DB}; patches: ${PATCHES}; subscribers: ${SUBSCRIBERS}`);
console.log(`| figure | without log | with log | ratio |`);
console.log(`|---|---|---|---|`);
console.log(
  `| CPU per subscribed patch (µs) | ${without.patchCpuUs.toFixed(0)} | ${withLog.patchCpuUs.toFixed(0)} | ${ratio(withLog.patchCpuUs, without.patchCpuUs)} |`,
);
console.log(
  `| fan-out deliveries/s (${SUBSCRIBERS} subscribers) | ${without.deliveriesPerSecond.toFixed(0)} | ${withLog.deliveriesPerSecond.toFixed(0)} | ${ratio(withLog.deliveriesPerSecond, without.deliveriesPerSecond)} |`,
);
console.log(
  `| write→delivery p50 (ms) | ${without.latencyP50Ms.toFixed(2)} | ${withLog.latencyP50Ms.toFixed(2)} | +${(withLog.latencyP50Ms - without.latencyP50Ms).toFixed(2)} ms |`,
);
if (withLog.resume)
  console.log(
    `resume of ${withLog.resume.events} missed changes: ${withLog.resume.ms.toFixed(0)} ms, ${withLog.resume.cpuMs.toFixed(0)} ms CPU`,
  );
