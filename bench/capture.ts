/**
 * `npx tsx bench/capture.ts [--db sqlite|postgres] [--rows N] [--patches N] [--runs N]`: the cost of
 * database-level change capture (docs/capture.md), side by side in one run on the same database:
 * - raw UPDATE throughput: one statement updating N rows of `things`, with its capture triggers and
 *   with them removed (rows/s, commit included: PostgreSQL's deferred triggers run at COMMIT);
 * - ORM patch: a resource patch of a thing with one subscriber of the model, awaited until its event
 *   is delivered, with database capture (the trigger logs it, the feed reads it) and with the ORM hooks
 *   (read before and after, logged before COMMIT, published): wall ms and CPU µs per patch.
 * Runs alternate (capture, hooks, capture, hooks...) and medians of `--runs` (default 3) are printed.
 * In-process PubSub, hub-level handler (no sockets). PostgreSQL: TEST_DATABASE_URL (a fresh database
 * is created and dropped). `LOG_LEVEL=error` hides the one warning per hooks run (Thing asks for
 * database capture while its triggers are removed: its hooks take over, as they should).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { openDemoDatabase } from '../src/demo/app.js';
import { Thing } from '../src/demo/models.js';
import { thingResource } from '../src/demo/resources.js';
import { installCapture, removeCapture } from '../src/events/capture/migration.js';
import { resourceCall } from '../src/resources/resource.js';
import { Runtime } from '../src/runtime.js';
import type { ConnectionScope } from '../src/scope.js';
import { createTestDatabase } from '../test/helpers/postgres.js';
import { option } from './lib/options.js';

const DB = option('db', 'sqlite');
const ROWS = Number(option('rows', '10000'));
const PATCHES = Number(option('patches', '1000'));
const RUNS = Number(option('runs', '3'));

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const cpuUs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};

async function database(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (DB === 'postgres') return createTestDatabase(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-bench-capture-'));
  return { url: `sqlite:${path.join(dir, 'bench.sqlite3')}`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

interface Figures {
  updateRowsPerSecond: number;
  patchWallMs: number;
  patchCpuUs: number;
}

/** One run of one mode: the runtime reads from the database whether things are captured. */
async function measure(knex: Knex, capture: boolean): Promise<Figures> {
  if (capture) await installCapture(knex, [Thing]);
  else await removeCapture(knex, [Thing]);
  const runtime = await Runtime.create({ knex });
  const scope = { user: null, runtime, extra: {} } as unknown as ConnectionScope;
  try {
    // Raw UPDATE of ROWS rows (the table holds exactly them).
    const started = performance.now();
    await knex.raw('update things set counter = counter + 1');
    const updateRowsPerSecond = ROWS / ((performance.now() - started) / 1000);

    // ORM patches, each awaited until its event reached the subscriber.
    const [{ id }] = (await knex('things').orderBy('id').limit(1).select('id')) as Array<{ id: number }>;
    let received = 0;
    let arrived: () => void = () => undefined;
    const close = await runtime.hub.subscribe(
      runtime.hub.modelTopic('Thing'),
      () => {
        received++;
        arrived();
      },
      'Thing',
    );
    const patch = async (counter: number) => {
      const target = received + 1;
      const delivered = new Promise<void>((resolve) => {
        arrived = () => {
          if (received >= target) resolve();
        };
      });
      await thingResource.patch(resourceCall(scope), id!, { counter });
      await delivered;
    };
    for (let i = 0; i < 100; i++) await patch(i); // warm-up
    const cpu = process.cpuUsage();
    const wall = performance.now();
    for (let i = 0; i < PATCHES; i++) await patch(i);
    const patchWallMs = (performance.now() - wall) / PATCHES;
    const patchCpuUs = cpuUs(cpu) / PATCHES;
    close();
    return { updateRowsPerSecond, patchWallMs, patchCpuUs };
  } finally {
    await runtime.close();
  }
}

async function main(): Promise<void> {
  const db = await database();
  const knex = await openDemoDatabase(db.url);
  try {
    await knex('things').delete();
    const rows = Array.from({ length: ROWS }, (_, i) => ({ name: `row ${i}`, counter: 0 }));
    for (let start = 0; start < rows.length; start += 500) await knex('things').insert(rows.slice(start, start + 500));
    const runs: Record<'capture' | 'hooks', Figures[]> = { capture: [], hooks: [] };
    for (let run = 0; run < RUNS; run++) {
      runs.capture.push(await measure(knex, true));
      runs.hooks.push(await measure(knex, false));
    }
    const summary = (figures: Figures[]) => ({
      updateRowsPerSecond: Math.round(median(figures.map((f) => f.updateRowsPerSecond))),
      patchWallMs: Number(median(figures.map((f) => f.patchWallMs)).toFixed(3)),
      patchCpuUs: Math.round(median(figures.map((f) => f.patchCpuUs))),
    });
    const capture = summary(runs.capture);
    const hooks = summary(runs.hooks);
    process.stdout.write(`capture bench (${DB}): ${ROWS} rows per raw UPDATE, ${PATCHES} patches, median of ${RUNS} runs\n`);
    process.stdout.write('| | database capture | ORM hooks (no triggers) |\n|---|---|---|\n');
    process.stdout.write(`| raw UPDATE, rows/s | ${capture.updateRowsPerSecond} | ${hooks.updateRowsPerSecond} |\n`);
    process.stdout.write(`| ORM patch → event delivered, ms | ${capture.patchWallMs} | ${hooks.patchWallMs} |\n`);
    process.stdout.write(`| ORM patch → event delivered, CPU µs | ${capture.patchCpuUs} | ${hooks.patchCpuUs} |\n`);
    process.stdout.write(
      `${JSON.stringify({ db: DB, rows: ROWS, patches: PATCHES, runs: RUNS, capture: runs.capture, hooks: runs.hooks })}\n`,
    );
  } finally {
    await knex.destroy();
    await db.drop();
  }
}

await main();
