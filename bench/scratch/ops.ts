import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startDemo } from '../../src/demo/app.js';
import { thingResource } from '../../src/demo/resources.js';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-'));
const app = await startDemo(loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: `sqlite:${dir}/x.sqlite3` }));
await app.knex('things').insert(Array.from({ length: 20 }, (_, i) => ({ name: `t${i}`, counter: 0 })));
const scope: any = { user: null, path: '/', headers: {}, query: new URLSearchParams(), cookies: {}, remoteAddress: '', protocol: 'dcrf', extra: {} };
async function measure(label: string, fn: (i: number) => Promise<unknown>, n = 2000) {
  for (let i = 0; i < 300; i++) await fn(i);
  const c = process.cpuUsage(); const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const cpu = process.cpuUsage(c);
  console.log(label, ((cpu.user + cpu.system) / n).toFixed(1), 'µs CPU/op', (Number(process.hrtime.bigint() - t) / 1000 / n).toFixed(1), 'µs wall/op');
}
//await measure('retrieve', (i) => thingResource.retrieve(scope, 1 + (i % 20)));
//await measure('list', () => thingResource.list(scope));
await measure('patch', (i) => thingResource.update(scope, 1 + (i % 20), { counter: i }, true));
await app.close();
process.exit(0);
