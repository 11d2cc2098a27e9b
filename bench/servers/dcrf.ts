/**
 * The system under test: the demo app (startDemo, in-process PubSub) in a process of its own, seeded
 * with `THINGS` things. Answers the usage commands over IPC.
 * - default: a fresh SQLite file;
 * - BENCH_POSTGRES=<admin url>: a fresh PostgreSQL database of its own on that server (dropped at exit);
 * - BENCH_DATABASE_URL=<url>: that database as it is (the harness made it and seeds it through the
 *   first process: BENCH_SEED=0 skips the seeding), e.g. two processes sharing one database;
 * - REDIS_URL / REDIS_PREFIX: events through Redis (scale-out);
 * - BENCH_OBSERVE=<model>: one in-process subscriber of that model, so its writes are captured and logged
 *   as they are when a socket subscribes, without a socket's delivery in the measurement.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startDemo } from '../../src/demo/app.js';
import { createTestDatabase } from '../../test/helpers/postgres.js';
import { serveCommands } from '../lib/child.js';
import { usageCommands } from './usage.js';

const things = Number(process.env.THINGS ?? 20);
let dropDatabase = async () => {};
let databaseUrl = process.env.BENCH_DATABASE_URL;
if (!databaseUrl && process.env.BENCH_POSTGRES) {
  const database = await createTestDatabase(process.env.BENCH_POSTGRES);
  databaseUrl = database.url;
  dropDatabase = database.drop;
}
if (!databaseUrl) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-bench-'));
  databaseUrl = `sqlite:${path.join(dir, 'bench.sqlite3')}`;
  dropDatabase = async () => fs.rmSync(dir, { recursive: true, force: true });
}
// The idle and fan-out cases open 10,000 sockets (and their writer) from loopback addresses: more than
// the default caps (256 per IP, 10,000 in all), so this server lifts them (0 = no cap).
const app = await startDemo(
  loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    MAX_SOCKETS_PER_IP: '0',
    MAX_SOCKETS: '0',
    REDIS_URL: process.env.REDIS_URL ?? '',
    REDIS_PREFIX: process.env.REDIS_PREFIX ?? '',
  }),
  // BENCH_CHANGE_LOG=off: the best-effort event path without the change log, to compare side by side.
  { runtime: { changeLog: process.env.BENCH_CHANGE_LOG !== 'off' } },
);
if (process.env.BENCH_SEED !== '0')
  await app.knex('things').insert(Array.from({ length: things }, (_, i) => ({ name: `thing ${i + 1}`, counter: 0 })));
const observed = process.env.BENCH_OBSERVE;
if (observed) await app.runtime.hub.subscribe(app.runtime.hub.modelTopic(observed), () => undefined, observed);

serveCommands(
  {
    ...usageCommands,
    async exit() {
      await Promise.race([app.close(), new Promise((resolve) => setTimeout(resolve, 2000))]);
      await dropDatabase().catch(() => undefined);
    },
  },
  { port: app.port, graphql: Boolean(app.gateway.options.graphql) },
);
