/**
 * `npx tsx bench/change-log.ts [--db sqlite|postgres] [--patches N] [--subscribers N] [--writes N]`: the change log's
 * cost, side by side in one run, on the same kind of database: without it (no log table, no capture
 * triggers, `changeLog: false`: the best-effort path before it), with it and the ORM hooks capturing
 * Thing (no capture triggers installed: the hooks take over), and with it and the database capturing
 * Thing (the demo's set-up: triggers write the log):
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
import { openAppDatabase } from '../src/app.js';
import { demoMigrations } from '../src/demo/app.js';
import { demoStreams } from '../src/demo/consumers.js';
import { changeLogMigration } from '../src/events/change-log.js';
import { Thing } from '../src/demo/models.js';
import { thingResource } from '../src/demo/resources.js';
import type { ChangeMessage } from '../src/events/records.js';
import { resourceCall } from '../src/resources/resource.js';
import { Runtime } from '../src/runtime.js';
import type { ConnectionScope } from '../src/scope.js';
import { createTestDatabase } from '../test/helpers/postgres.js';
import { option } from './lib/options.js';

const DB = option('db', 'sqlite');
const PATCHES = Number(option('patches', '2000'));
const SUBSCRIBERS = Number(option('subscribers', '1000'));
const RESUME = Number(option('resume', '10000'));
/** Writes in the fan-out measure (each delivered to every subscriber). */
const WRITES = Number(option('writes', '1000'));

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

/** Without the log; with it, Thing captured by the ORM hooks; with it, Thing captured by triggers. */
type Mode = 'none' | 'hooks' | 'triggers';

const isCapture = (name: string) => /capture/.test(name);

async function open(mode: Mode, url: string): Promise<Knex> {
  const migrations = demoMigrations.filter(
    (migration) => (mode === 'triggers' || !isCapture(migration.name)) && (mode !== 'none' || migration !== changeLogMigration),
  );
  const opened = await openAppDatabase({ database: url, streams: demoStreams, migrations, changeLog: mode !== 'none' });
  return opened!.knex;
}

async function measure(mode: Mode): Promise<Figures> {
  const withLog = mode !== 'none';
  const db = await database(mode);
  const knex: Knex = await open(mode, db.url);
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
    const writes = WRITES;
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
const modes: Mode[] = ['none', 'hooks', 'triggers'];
for (const mode of modes) await measure(mode);
const figures = new Map<Mode, Figures>();
for (const mode of modes) figures.set(mode, await measure(mode));
const none = figures.get('none')!;
const hooks = figures.get('hooks')!;
const triggers = figures.get('triggers')!;
const ratio = (a: number, b: number) => `${(a / b).toFixed(3)}×`;
console.log(`database: ${DB}; patches: ${PATCHES}; subscribers: ${SUBSCRIBERS}`);
console.log('| figure | without log | log, hooks capture | log, database capture |');
console.log('|---|---|---|---|');
const row = (label: string, pick: (figures: Figures) => number, digits: number, compare: (value: number) => string) =>
  console.log(
    `| ${label} | ${pick(none).toFixed(digits)} | ${pick(hooks).toFixed(digits)} (${compare(pick(hooks))}) | ${pick(triggers).toFixed(digits)} (${compare(pick(triggers))}) |`,
  );
row(
  'CPU per subscribed patch (µs)',
  (each) => each.patchCpuUs,
  0,
  (value) => ratio(value, none.patchCpuUs),
);
row(
  `fan-out deliveries/s (${SUBSCRIBERS} subscribers)`,
  (each) => each.deliveriesPerSecond,
  0,
  (value) => ratio(value, none.deliveriesPerSecond),
);
row(
  'write→delivery p50 (ms)',
  (each) => each.latencyP50Ms,
  2,
  (value) => `${value - none.latencyP50Ms >= 0 ? '+' : ''}${(value - none.latencyP50Ms).toFixed(2)} ms`,
);
for (const [label, each] of [
  ['hooks', hooks],
  ['database', triggers],
] as const)
  if (each.resume)
    console.log(
      `resume of ${each.resume.events} missed changes (${label} capture): ${each.resume.ms.toFixed(0)} ms, ${each.resume.cpuMs.toFixed(0)} ms CPU`,
    );
