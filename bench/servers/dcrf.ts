/**
 * The system under test: the demo app (startDemo, SQLite file, in-process PubSub) in a process of its
 * own, seeded with `THINGS` things. Answers the usage commands over IPC.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startDemo } from '../../src/demo/app.js';
import { serveCommands } from '../lib/child.js';
import { usageCommands } from './usage.js';

const things = Number(process.env.THINGS ?? 20);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-bench-'));
// The idle and fan-out cases open 10,000 sockets (and their writer) from loopback addresses: more than
// the default caps (256 per IP, 10,000 in all), so this server lifts them (0 = no cap).
const app = await startDemo(
  loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: `sqlite:${path.join(dir, 'bench.sqlite3')}`,
    MAX_SOCKETS_PER_IP: '0',
    MAX_SOCKETS: '0',
  }),
  // BENCH_CHANGE_LOG=off: the best-effort event path without the change log, to compare side by side.
  { runtime: { changeLog: process.env.BENCH_CHANGE_LOG !== 'off' } },
);
await app.knex('things').insert(Array.from({ length: things }, (_, i) => ({ name: `thing ${i + 1}`, counter: 0 })));

serveCommands(
  {
    ...usageCommands,
    async exit() {
      await Promise.race([app.close(), new Promise((resolve) => setTimeout(resolve, 2000))]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  },
  { port: app.port, graphql: Boolean(app.gateway.options.graphql) },
);
