import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { loadConfig } from '../../src/config.js';
import { startDemo } from '../../src/demo/app.js';
import { Child } from '../lib/child.js';

function aggregate(file: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'));
  const fields: string[] = snap.snapshot.meta.node_fields;
  const types: string[] = snap.snapshot.meta.node_types[0];
  const nf = fields.length;
  const iType = fields.indexOf('type'), iName = fields.indexOf('name'), iSize = fields.indexOf('self_size');
  const out = new Map<string, { count: number; size: number }>();
  const nodes: number[] = snap.nodes;
  for (let i = 0; i < nodes.length; i += nf) {
    const type = types[nodes[i + iType]!]!;
    let name = type === 'object' || type === 'closure' ? `${type}:${snap.strings[nodes[i + iName]!]}` : type;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = 'string';
    const e = out.get(name) ?? { count: 0, size: 0 };
    e.count++;
    e.size += nodes[i + iSize]!;
    out.set(name, e);
  }
  return out;
}
const N = Number(process.argv[2] ?? 2000);
const raw = process.argv[3] === 'raw';
let port: number;
if (raw) {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
  port = (wss.address() as any).port;
} else {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heap-'));
  const app = await startDemo(loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: `sqlite:${dir}/x.sqlite3` }));
  port = app.port;
}
const client = Child.start('c', 'clients/subscribers.ts');
await client.ready;
// warm: one socket first
await client.call('open', { url: `ws://127.0.0.1:${port}/ws/things`, sockets: 10, subscription: 'none' });
(globalThis as any).gc(); 
v8.writeHeapSnapshot('/tmp/h1.heapsnapshot');
await client.call('open', { url: `ws://127.0.0.1:${port}/ws/things`, sockets: N, subscription: 'none' }, 120000);
await new Promise((r) => setTimeout(r, 500));
(globalThis as any).gc();
v8.writeHeapSnapshot('/tmp/h2.heapsnapshot');
const a = aggregate('/tmp/h1.heapsnapshot'), b = aggregate('/tmp/h2.heapsnapshot');
const diff = [...b].map(([k, v]) => [k, (v.size - (a.get(k)?.size ?? 0)) / N, (v.count - (a.get(k)?.count ?? 0)) / N] as const).filter((x) => Math.abs(x[1]) > 8).sort((x, y) => y[1] - x[1]);
let total = 0;
for (const [k, s, c] of diff) { total += s; console.log(`${s.toFixed(0).padStart(6)} B/sock  ${c.toFixed(2).padStart(6)}/sock  ${k}`); }
console.log('total', total.toFixed(0));
await client.stop();
process.exit(0);
