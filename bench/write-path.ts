/**
 * `node --import tsx bench/write-path.ts [--db sqlite|postgres] [--ops N] [--runs N] [--cpu-prof DIR]`:
 * the CPU one resource operation costs, without sockets, so a change to the write path can be
 * judged on the steadiest figure there is (CPU time of this process per operation):
 * - `patch`: a resource patch of a Thing nobody observes;
 * - `patch (observed)`: the same with one hub-level subscriber of the model (the before/after reads,
 *   the change-log append, the after-commit publish);
 * - `retrieve`: a resource retrieve;
 * - `create + delete`: a resource create of a Thing nobody observes, then its delete (the figure is per pair).
 * `--concurrency N` keeps N operations in flight (each on its own row), as N sockets would.
 * The three run interleaved, `--runs` times each (median reported), after a warm-up. With
 * `--cpu-prof DIR`, each operation's last run is profiled into DIR (summarize with
 * `node --import tsx bench/lib/profile-summary.ts <file>`).
 * PostgreSQL: TEST_DATABASE_URL (default the machine's `test`; a fresh database is made and dropped).
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { openDemoDatabase } from '../src/demo/app.js';
import { Thing } from '../src/demo/models.js';
import { thingResource } from '../src/demo/resources.js';
import { resourceCall } from '../src/resources/resource.js';
import { Runtime } from '../src/runtime.js';
import type { ConnectionScope } from '../src/scope.js';
import { createTestDatabase } from '../test/helpers/postgres.js';
import { option, profileDir } from './lib/options.js';

const DB = option('db', 'sqlite');
const OPS = Number(option('ops', '3000'));
/** Retrieves are ~50× cheaper than patches: more of them, for a window as long. */
const RETRIEVE_FACTOR = 20;
const RUNS = Number(option('runs', '5'));
/** Operations in flight at once (each loop its own row for patches): 1 measures one operation alone. */
const CONCURRENCY = Number(option('concurrency', '1'));
const PROFILE_DIR = profileDir();

async function database(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (DB === 'postgres') return createTestDatabase(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-write-path-'));
  return { url: `sqlite:${path.join(dir, 'bench.sqlite3')}`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

let session: inspector.Session | undefined;
function post(method: string, params?: object): Promise<any> {
  return new Promise((resolve, reject) => session!.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

/**
 * One app per figure: once a model was observed, the change log keeps capturing it, so the
 * unobserved patch needs a runtime whose Thing nobody ever listened to.
 */
async function app() {
  const db = await database();
  const knex = await openDemoDatabase(db.url);
  const runtime = await Runtime.create({ knex });
  const scope = { user: null, runtime, extra: {} } as unknown as ConnectionScope;
  const rows = await Thing.query(knex).insert(Array.from({ length: CONCURRENCY }, (_, i) => ({ name: `bench ${i}` })));
  const ids = (Array.isArray(rows) ? rows : [rows]).map((row) => row.id);
  const close = async () => {
    await runtime.close();
    await knex.destroy();
    await db.drop();
  };
  return { runtime, scope, ids, close };
}
const quiet = await app();
const watched = await app();

type Operation = { name: string; run: (i: number, lane: number) => Promise<unknown> };
const operations: Operation[] = [
  { name: 'patch', run: (i, lane) => thingResource.patch(resourceCall(quiet.scope), quiet.ids[lane], { counter: i }) },
  { name: 'patch (observed)', run: (i, lane) => thingResource.patch(resourceCall(watched.scope), watched.ids[lane], { counter: i }) },
  { name: 'retrieve', run: (_i, lane) => thingResource.retrieve(resourceCall(quiet.scope), quiet.ids[lane]) },
  {
    name: 'create + delete',
    run: async (i) => {
      const created = await thingResource.create(resourceCall(quiet.scope), { name: `made ${i}` });
      await thingResource.destroy(resourceCall(quiet.scope), created.pk);
    },
  },
];

let events = 0;
async function measure(operation: Operation, profile: boolean): Promise<number> {
  const hub = watched.runtime.hub;
  // Observed: one hub-level subscriber of the model while this operation runs.
  const close = operation.name === 'patch (observed)' ? await hub.subscribe(hub.modelTopic('Thing'), () => events++, 'Thing') : undefined;
  try {
    for (let i = 0; i < 200; i++) await operation.run(i, i % CONCURRENCY);
    if (profile) await post('Profiler.start');
    const count = operation.name === 'retrieve' ? OPS * RETRIEVE_FACTOR : OPS;
    const start = process.cpuUsage();
    let next = 0;
    const loop = async (lane: number) => {
      while (next < count) await operation.run(next++, lane);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, lane) => loop(lane)));
    const used = process.cpuUsage(start);
    if (profile) {
      const { profile: data } = await post('Profiler.stop');
      fs.mkdirSync(PROFILE_DIR!, { recursive: true });
      const file = path.join(PROFILE_DIR!, `write-path-${DB}-${operation.name.replace(/\W+/g, '-')}.cpuprofile`);
      fs.writeFileSync(file, JSON.stringify(data));
      console.error(`profile: ${file}`);
    }
    return (used.user + used.system) / count;
  } finally {
    close?.();
  }
}

if (PROFILE_DIR) {
  session = new inspector.Session();
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
}
const results = new Map<string, number[]>(operations.map((operation) => [operation.name, []]));
try {
  for (let run = 1; run <= RUNS; run++) {
    for (const operation of operations) results.get(operation.name)!.push(await measure(operation, Boolean(PROFILE_DIR) && run === RUNS));
  }
} finally {
  await quiet.close();
  await watched.close();
}
console.log(
  `database: ${DB}; ${OPS} patches (retrieves ×20) per run, ${RUNS} runs interleaved; load average ${os.loadavg()[0]!.toFixed(1)}`,
);
console.log('| operation | CPU µs/op (median) | runs |');
console.log('|---|---:|---|');
for (const [name, values] of results)
  console.log(`| ${name} | ${median(values).toFixed(1)} | ${values.map((value) => value.toFixed(0)).join(', ')} |`);
if (events === 0) console.log('warning: the observed patches delivered no event');
