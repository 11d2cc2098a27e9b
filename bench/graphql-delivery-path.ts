/**
 * `node --import tsx bench/graphql-delivery-path.ts [--subscribers N] [--writes N] [--runs N] [--cpu-prof DIR]`:
 * the CPU one GraphQL subscription event costs per subscriber from the committed write to the frame
 * handed to the socket, without sockets: N `thingChanged(id)` subscriptions of the demo schema (each on
 * its own anonymous connection, as over graphql-transport-ws), their event streams delivered by the
 * engine's EventDelivery to a target that counts the frames and is always drained. Each
 * write is a `patch` of the watched Thing through its resource; the write's own CPU (measured with no
 * subscriber, before the subscriptions open) is taken off, so the figure is the fan-out's. Runs `--runs` windows
 * (median reported) after a warm-up; `--cpu-prof DIR` profiles the last.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionArgs } from 'graphql';
import { openDemoDatabase } from '../src/demo/app.js';
import { demoResolvers, demoTypeDefs } from '../src/demo/graphql.js';
import { Thing } from '../src/demo/models.js';
import { thingResource } from '../src/demo/resources.js';
import { buildGraphQLSchema } from '../src/graphql/bind.js';
import { GraphQLEngine } from '../src/graphql/engine.js';
import { socketTarget, type DeliveryTarget } from '../src/graphql/event-delivery.js';
import { resourceCall } from '../src/resources/call.js';
import { Runtime } from '../src/runtime.js';
import { RequestScope } from '../src/scope.js';
import { THING_CHANGED } from './lib/events.js';
import { option, profileDir } from './lib/options.js';

const SUBSCRIBERS = Number(option('subscribers', '500'));
const WRITES = Number(option('writes', '400'));
const RUNS = Number(option('runs', '5'));
const PROFILE_DIR = profileDir();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphql-delivery-path-'));
const knex = await openDemoDatabase(`sqlite:${path.join(dir, 'bench.sqlite3')}`);
const runtime = await Runtime.create({ knex });
const [watched] = await Thing.query(knex)
  .insert([{ name: 'watched' }])
  .returning('*');
const pk = (watched as Thing).id;
const engine = new GraphQLEngine(buildGraphQLSchema({ typeDefs: demoTypeDefs(), resolvers: demoResolvers() }));

const newScope = () => new RequestScope(runtime, { rawHeaders: [], remoteAddress: '127.0.0.1' }, '/graphql', '', 'graphql-transport-ws');
const writerCall = resourceCall(newScope());

let frames = 0;
let waiting: { count: number; resolve: () => void } | undefined;
/** A socket's target without the socket: the frame is built as for a socket and counted, the socket always drained. */
function countingTarget(id: string): DeliveryTarget {
  const { frame } = socketTarget(undefined as never, id, 'next');
  return {
    frame,
    send: (text) => {
      frames++;
      if (text.length === 0) throw new Error('empty frame');
      if (waiting && frames >= waiting.count) {
        const { resolve } = waiting;
        waiting = undefined;
        resolve();
      }
    },
    // As a socket whose every write the kernel took at once.
    drained: () => true,
  };
}

async function subscribe(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const context = engine.context(newScope());
    const operation = engine.operation({ query: THING_CHANGED, variables: { id: String(pk) } }, context);
    if (Array.isArray(operation)) throw new Error(String(operation[0]));
    const { args } = operation as { args: ExecutionArgs };
    const stream = await engine.eventStream(args);
    if (!(Symbol.asyncIterator in (stream as object))) throw new Error(`subscribe refused: ${JSON.stringify(stream)}`);
    void engine.delivery(stream as AsyncIterable<unknown>, args, countingTarget(String(i))).next();
  }
}

let counter = 0;
/** CPU µs of `writes` patches of the watched row, each waited for until its frames are all handed on. */
async function window(writes: number, subscribers: number): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < writes; i++) {
    const delivered = new Promise<void>((resolve) => {
      waiting = { count: frames + subscribers, resolve };
    });
    await thingResource.patch(writerCall, pk, { counter: ++counter });
    if (subscribers) await delivered;
  }
  const used = process.cpuUsage(started);
  waiting = undefined;
  return used.user + used.system;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

let session: inspector.Session | undefined;
const post = (method: string, params?: object) =>
  new Promise<any>((resolve, reject) => session!.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));

await window(WRITES, 0);
const writeOnly: number[] = [];
for (let run = 0; run < RUNS; run++) writeOnly.push((await window(WRITES, 0)) / WRITES);
await subscribe(SUBSCRIBERS);
await window(Math.min(WRITES, 100), SUBSCRIBERS);
const perDelivery: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const profiling = PROFILE_DIR && run === RUNS - 1;
  if (profiling) {
    session = new inspector.Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.start');
  }
  const totalUs = (await window(WRITES, SUBSCRIBERS)) / WRITES;
  perDelivery.push((totalUs - median(writeOnly)) / SUBSCRIBERS);
  if (profiling) {
    const { profile } = await post('Profiler.stop');
    fs.mkdirSync(PROFILE_DIR, { recursive: true });
    const file = path.join(PROFILE_DIR, `graphql-delivery-path-${process.pid}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(profile));
    console.log(`profile: ${file}`);
  }
}
console.log(`patch without subscribers: ${median(writeOnly).toFixed(1)} µs CPU`);
console.log(
  `GraphQL delivery, ${SUBSCRIBERS} subscribers: ${median(perDelivery).toFixed(2)} µs CPU per delivery (runs: ${perDelivery.map((v) => v.toFixed(2)).join(', ')})`,
);
await runtime.close?.();
await knex.destroy();
fs.rmSync(dir, { recursive: true, force: true });
