import { Child } from '../lib/child.js';
import { startServer, TARGETS } from '../lib/harness.js';
const server = await startServer(process.argv[2] === 'stock' ? TARGETS.stockGraphql : TARGETS.system, { smoke: true, runs: 1, warmupMs: 0, measureMs: 0 });
const c = Child.start('c', 'clients/subscribers.ts'); await c.ready;
for (const sub of ['none', 'graphql-thing'] as const) {
  const t = Date.now();
  await c.call('open', { url: `ws://127.0.0.1:${server.port}/graphql`, sockets: 200, subscription: sub, protocols: ['graphql-transport-ws'] }, 120000);
  console.log(sub, Date.now() - t, 'ms');
  await c.call('close');
}
await c.stop(); await server.stop();
