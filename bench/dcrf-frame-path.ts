/**
 * `node --import tsx bench/dcrf-frame-path.ts [--action retrieve|patch] [--ops N] [--runs N] [--cpu-prof DIR]`:
 * the CPU one DCRF `retrieve` (or `patch`) frame costs from its text to its reply's text, without sockets: the session (order,
 * limits, parsing), the router, the demo's `things` consumer (permission, action, serializer, the
 * SQLite read) and the encoding, on an in-memory socket (`dcrf-gateway/testing`). The in-memory
 * client's own work (a timer and a promise per reply) is counted too, the same for every version
 * compared. Runs `--runs` windows (median reported) after a warm-up; `--cpu-prof DIR` profiles the last.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { openDemoDatabase } from '../src/demo/app.js';
import { demoStreams } from '../src/demo/consumers.js';
import { Thing } from '../src/demo/models.js';
import { Runtime } from '../src/runtime.js';
import { DcrfCommunicator } from '../src/testing.js';
import { option, profileDir } from './lib/options.js';

const OPS = Number(option('ops', '20000'));
const RUNS = Number(option('runs', '5'));
const PROFILE_DIR = profileDir();
const THINGS = 20;
const ACTION = option('action', 'retrieve');
if (ACTION !== 'retrieve' && ACTION !== 'patch') throw new Error(`--action retrieve or patch (got ${ACTION})`);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-frame-path-'));
const knex = await openDemoDatabase(`sqlite:${path.join(dir, 'bench.sqlite3')}`);
const runtime = await Runtime.create({ knex });
await Thing.query(knex).insert(Array.from({ length: THINGS }, (_, i) => ({ name: `thing ${i + 1}` })));
// No rate limit: this loop sends far faster than a client is allowed to.
const limits = { ratePerSecond: 1e9, rateBurst: 1e9 };
const client = await DcrfCommunicator.connect(demoStreams.things!, { runtime, limits, timeoutMs: 10_000 });

async function window(count: number): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const pk = 1 + (i % THINGS);
    client.send(
      ACTION === 'patch'
        ? `{"action":"patch","pk":${pk},"data":{"counter":${i}},"request_id":${i}}`
        : `{"action":"retrieve","pk":${pk},"request_id":${i}}`,
    );
    const text = await client.receiveText();
    if (!text.includes('"response_status":200')) throw new Error(`unexpected reply ${text.slice(0, 200)}`);
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / count;
}

let session: inspector.Session | undefined;
const post = (method: string, params?: object) =>
  new Promise<any>((resolve, reject) => session!.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));

await window(2000);
const figures: number[] = [];
for (let run = 1; run <= RUNS; run++) {
  const profile = PROFILE_DIR && run === RUNS;
  if (profile) {
    session = new inspector.Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 100 });
    await post('Profiler.start');
  }
  figures.push(await window(OPS));
  if (profile) {
    const { profile: data } = await post('Profiler.stop');
    fs.mkdirSync(PROFILE_DIR, { recursive: true });
    const file = path.join(PROFILE_DIR, `dcrf-frame-path-${process.pid}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(data));
    console.log(`profile: ${file}`);
  }
  console.log(`run ${run}: ${figures.at(-1)!.toFixed(2)} µs CPU per ${ACTION} frame`);
}
const sorted = [...figures].sort((a, b) => a - b);
console.log(`median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} µs CPU per ${ACTION} frame (${RUNS} runs of ${OPS})`);
await client.close();
await runtime.close();
await knex.destroy();
fs.rmSync(dir, { recursive: true, force: true });
