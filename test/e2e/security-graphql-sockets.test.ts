/**
 * Issue 12, GraphQL sockets: the per-socket limits DCRF sockets have apply to graphql-transport-ws and
 * legacy graphql-ws sockets too, with each protocol's answers, and a socket's user after connect is the
 * user as re-read (permissions and resolvers see it; a deactivated user is cut off 4403 before any
 * further event). Over real sockets against the demo app, with small limits so the tests stay quick:
 * - output: a client that stops reading is closed 1013 once its unsent results pass MAX_BUFFERED_BYTES;
 * - operation ids longer than MAX_KEY_BYTES: close 4400 (graphql-transport-ws), an `error` (legacy);
 * - MAX_RETAINED_BYTES: the bytes of live operations (THROTTLED beyond) and of waiting messages (1008);
 * - the frame rate: an operation over the rate gets RATE_LIMITED 429, continued excess closes 1008.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { execute, graphqlClient, type Recorded, subscribeLive } from '../helpers/graphql.js';
import { eventually, metric, scrape } from '../helpers/hardening.js';
import { demoStreams } from '../../src/demo/consumers.js';
import { createDemoGraphQLAdapter } from '../../src/demo/graphql.js';
import { buildGraphQLSchema, createGraphQLAdapter, liveField } from '../../src/index.js';
import { AsyncAPIConsumer, type ConsumerClass } from '../../src/dcrf/consumer.js';
import { action } from '../../src/dcrf/actions.js';
import type { ActionResult } from '../../src/dcrf/protocol.js';
import { BasePermission } from '../../src/permissions.js';
import type { Authenticator } from '../../src/auth/authenticator.js';
import type { ConnectionScope } from '../../src/scope.js';

const M = 'dcrf_gateway_';
type Protocol = 'graphql-transport-ws' | 'graphql-ws';
const PROTOCOLS: readonly Protocol[] = ['graphql-transport-ws', 'graphql-ws'];
let unique = 0;
const name = (base: string) => `${base}${++unique}`;

/** A query with a large result: 10 aliases of the schema's types and fields (about 150 KB of JSON). */
const BIG_RESULT_QUERY = `{ ${Array.from({ length: 10 }, (_, i) => `a${i}: __schema { types { name description kind fields { name description type { name kind } } } }`).join(' ')} }`;

/** An operation message of `protocol`. */
function operation(protocol: Protocol, id: string, query: string, variables?: Record<string, unknown>): Record<string, unknown> {
  return { id, type: protocol === 'graphql-ws' ? 'start' : 'subscribe', payload: { query, variables } };
}

/** A raw GraphQL socket, acknowledged (the legacy `ka` after the ack read too). */
async function initialised(app: TestApp, protocol: Protocol, payload: Record<string, unknown> = {}): Promise<TestSocket> {
  const socket = await TestSocket.open(`${app.wsUrl}/graphql`, { protocols: [protocol] });
  assert.equal((await socket.request({ type: 'connection_init', payload })).type, 'connection_ack');
  if (protocol === 'graphql-ws') assert.deepEqual(await socket.next(), { type: 'ka' });
  return socket;
}

/** Runs `{ __typename }` as operation `id` and reads its result (and the `complete` after it). */
async function typename(socket: TestSocket, protocol: Protocol, id: string): Promise<void> {
  const result = await socket.request(operation(protocol, id, '{ __typename }'));
  assert.deepEqual(result, { id, type: protocol === 'graphql-ws' ? 'data' : 'next', payload: { data: { __typename: 'Query' } } });
  assert.deepEqual(await socket.next(), { id, type: 'complete' });
}

/** The close code of a socket, or -1 when it is still open after `ms` (a test fails, it does not hang). */
function closeCode(closed: Promise<number>, ms = 5000): Promise<number> {
  return Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), ms).unref())]);
}

/** A socket's frames from now on. */
function record(socket: TestSocket): any[] {
  const frames: any[] = [];
  socket.ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
  return frames;
}

/** Allowed when the user's email says staff: a role read from `scope.user`, as permissions do. */
class StaffOnly extends BasePermission {
  override hasPermission(scope: ConnectionScope): boolean {
    return String(scope.user?.email ?? '').endsWith('@staff.example');
  }
}

class StaffConsumer extends AsyncAPIConsumer {
  static override permissionClasses = [StaffOnly];

  @action()
  whoami(): ActionResult {
    return [this.scope.user?.email ?? null, 200];
  }
}

describe('GraphQL sockets under the per-socket limits, and the user as re-read', () => {
  let app: TestApp;
  // The GraphQL adapter re-reads users on every operation and event (userRecheckMs 0) with the app's own
  // authenticator, which exists once the app has started.
  const authenticator: Authenticator = {
    authenticate: (token) => app.gateway.options.authenticator!.authenticate(token),
    refresh: (user) => app.gateway.options.authenticator!.refresh!(user),
  };
  before(async () => {
    app = await startTestApp({
      gateway: {
        limits: { maxBufferedBytes: 256 * 1024, maxKeyBytes: 256, maxRetainedBytes: 64 * 1024 },
        userRecheckMs: 0,
        graphql: createDemoGraphQLAdapter({ authenticator, userRecheckMs: 0 }),
        streams: { ...demoStreams, staff: StaffConsumer as unknown as ConsumerClass },
      },
    });
  });
  after(async () => {
    await app.close();
  });

  test('a client that stops reading is closed 1013 once its unsent results pass MAX_BUFFERED_BYTES; others are answered meanwhile', async () => {
    for (const protocol of PROTOCOLS) {
      const before = metric(await scrape(app.url), `${M}slow_consumer_closes_total`);
      const stalled = new WebSocket(`${app.wsUrl}/graphql`, [protocol]);
      stalled.on('error', () => undefined);
      const closed = new Promise<number>((resolve) => stalled.once('close', (code) => resolve(code)));
      await new Promise((resolve) => stalled.once('open', resolve));
      const acked = new Promise((resolve) => stalled.once('message', resolve));
      stalled.send(JSON.stringify({ type: 'connection_init' }));
      await acked;
      stalled.pause();
      for (let i = 0; i < 40; i++) stalled.send(JSON.stringify(operation(protocol, `q${i}`, BIG_RESULT_QUERY)));
      const other = await initialised(app, protocol);
      let answered = 0;
      await eventually(
        async () => {
          await typename(other, protocol, `other${answered++}`);
          return metric(await scrape(app.url), `${M}slow_consumer_closes_total`) > before;
        },
        `the stalled ${protocol} socket was closed as a slow consumer`,
        10_000,
      );
      stalled.resume();
      assert.equal(await closeCode(closed), 1013);
      await typename(other, protocol, 'after');
      other.close();
    }
  });

  test('operation ids: up to MAX_KEY_BYTES bytes served; longer: close 4400 (graphql-transport-ws), an `error` without the id (legacy)', async () => {
    const current = await initialised(app, 'graphql-transport-ws');
    await typename(current, 'graphql-transport-ws', 'i'.repeat(256));
    current.send(operation('graphql-transport-ws', 'i'.repeat(257), '{ __typename }'));
    assert.equal(await closeCode(current.closed), 4400);
    // Bytes, not characters: 129 two-byte characters are 258 bytes.
    const accented = await initialised(app, 'graphql-transport-ws');
    accented.send(operation('graphql-transport-ws', 'é'.repeat(129), '{ __typename }'));
    assert.equal(await closeCode(accented.closed), 4400);

    const legacy = await initialised(app, 'graphql-ws');
    const refused = await legacy.request(operation('graphql-ws', 'i'.repeat(257), '{ __typename }'));
    assert.deepEqual(refused, {
      type: 'error',
      payload: [{ message: 'Operation id is longer than 256 bytes.', extensions: { code: 'BAD_REQUEST', status: 400 } }],
    });
    await typename(legacy, 'graphql-ws', 'i'.repeat(256));
    legacy.close();
    assert.ok(metric(await scrape(app.url), `${M}limit_hits_total`, { limit: 'key_length' }) >= 3);
  });

  test('the client bytes of live operations are bounded by MAX_RETAINED_BYTES: THROTTLED beyond; an ended one frees its share', async () => {
    const pad = 'x'.repeat(20_000);
    const subscription = 'subscription { joinedChat(chatId: "retained") { username } }';
    for (const protocol of PROTOCOLS) {
      const socket = await initialised(app, protocol);
      // Three subscriptions of about 20 KB each fit in 64 KiB; each is proven live by the query after it.
      for (const id of ['a', 'b', 'c']) {
        socket.send(operation(protocol, id, subscription, { pad }));
        await typename(socket, protocol, `${id}-live`);
      }
      assert.deepEqual(await socket.request(operation(protocol, 'd', subscription, { pad })), {
        id: 'd',
        type: 'error',
        payload: [
          { message: 'Too much operation state on this connection (at most 65536 bytes).', extensions: { code: 'THROTTLED', status: 429 } },
        ],
      });
      socket.send(protocol === 'graphql-ws' ? { id: 'a', type: 'stop' } : { id: 'a', type: 'complete' });
      if (protocol === 'graphql-ws') assert.deepEqual(await socket.next(), { id: 'a', type: 'complete' });
      socket.send(operation(protocol, 'e', subscription, { pad }));
      await typename(socket, protocol, 'e-live');
      assert.equal(await socket.quiet(100), true, 'no error for the subscription that fits again');
      socket.close();
    }
    assert.ok(metric(await scrape(app.url), `${M}limit_hits_total`, { limit: 'retained_bytes' }) >= 2);
  });

  test('messages waiting to be handled are bounded in bytes by MAX_RETAINED_BYTES: beyond, close 1008', async () => {
    const pad = 'x'.repeat(60 * 1024);
    for (const protocol of PROTOCOLS) {
      const socket = await initialised(app, protocol);
      // Ten messages of 60 KB in one go: they wait for their turn, and two of them already pass 64 KiB.
      for (let i = 0; i < 10; i++)
        socket.send(operation(protocol, `p${i}`, 'subscription { joinedChat(chatId: "pending") { username } }', { pad }));
      assert.equal(await closeCode(socket.closed), 1008);
    }
    assert.ok(metric(await scrape(app.url), `${M}limit_hits_total`, { limit: 'inbound_queue' }) >= 2);
  });

  test('the re-read user replaces the socket user: a renamed user joins a chat under its new name (GraphQL both protocols, DCRF multiplexed)', async () => {
    const watcher = graphqlClient(app);
    const joins = await subscribeLive(watcher, 'subscription { joinedChat(chatId: "renamed") { username } }');
    const rename = async (from: string, to: string) => {
      assert.equal(await app.knex('users').where({ username: from }).update({ username: to }), 1);
    };

    const carol = name('carol');
    const client = graphqlClient(app, { token: await app.token(carol) });
    assert.deepEqual((await execute(client, 'mutation { joinChat(chatId: "renamed") }')).data, { joinChat: true });
    assert.deepEqual((await joins.next()).data, { joinedChat: { username: carol } });
    await rename(carol, `${carol}-renamed`);
    await execute(client, 'mutation { joinChat(chatId: "renamed") }');
    assert.deepEqual((await joins.next()).data, { joinedChat: { username: `${carol}-renamed` } });
    await client.dispose();

    const dave = name('dave');
    const legacy = await initialised(app, 'graphql-ws', { token: await app.token(dave) });
    const join = async (id: string) => {
      assert.deepEqual(await legacy.request(operation('graphql-ws', id, 'mutation { joinChat(chatId: "renamed") }')), {
        id,
        type: 'data',
        payload: { data: { joinChat: true } },
      });
      assert.deepEqual(await legacy.next(), { id, type: 'complete' });
    };
    await join('1');
    assert.deepEqual((await joins.next()).data, { joinedChat: { username: dave } });
    await rename(dave, `${dave}-renamed`);
    await join('2');
    assert.deepEqual((await joins.next()).data, { joinedChat: { username: `${dave}-renamed` } });
    legacy.close();

    const erin = name('erin');
    const dcrf = await TestSocket.open(`${app.wsUrl}/ws?token=${await app.token(erin)}`);
    const joinChat = async (requestId: number) => {
      const answer = await dcrf.request({ stream: 'chat', payload: { action: 'join_chat', chat_id: 'renamed', request_id: requestId } });
      assert.deepEqual(answer, { stream: 'chat', payload: reply('join_chat', null, 204, requestId) });
    };
    await joinChat(1);
    assert.deepEqual((await joins.next()).data, { joinedChat: { username: erin } });
    await rename(erin, `${erin}-renamed`);
    await joinChat(2);
    assert.deepEqual((await joins.next()).data, { joinedChat: { username: `${erin}-renamed` } });
    dcrf.close();
    joins.dispose();
    await watcher.dispose();
  });

  test('permissions see the roles a user has now, not those it had at connect (DCRF, single and multiplexed)', async () => {
    const frank = name('frank');
    const token = await app.token(frank);
    const single = await TestSocket.open(`${app.wsUrl}/ws/staff/?token=${token}`);
    const multiplexed = await TestSocket.open(`${app.wsUrl}/ws?token=${token}`);
    const whoami = async (socket: TestSocket, wrapped: boolean) => {
      const answer = await socket.request(
        wrapped ? { stream: 'staff', payload: { action: 'whoami', request_id: 1 } } : { action: 'whoami', request_id: 1 },
      );
      return wrapped ? answer.payload : answer;
    };
    assert.equal((await whoami(single, false)).response_status, 403);
    assert.equal((await whoami(multiplexed, true)).response_status, 403);
    await app
      .knex('users')
      .where({ username: frank })
      .update({ email: `${frank}@staff.example` });
    assert.deepEqual(await whoami(single, false), reply('whoami', `${frank}@staff.example`, 200, 1));
    assert.deepEqual(await whoami(multiplexed, true), reply('whoami', `${frank}@staff.example`, 200, 1));
    await app
      .knex('users')
      .where({ username: frank })
      .update({ email: `${frank}@example.com` });
    assert.equal((await whoami(multiplexed, true)).response_status, 403);
    single.close();
    multiplexed.close();
  });

  test('a user deactivated after connect gets no further event: graphql-ws createClient sees 4403', async () => {
    const username = name('gina');
    let closedWith: number | undefined;
    const client = graphqlClient(app, { token: await app.token(username), onClose: (code) => (closedWith = code) });
    const writer = graphqlClient(app);
    const thing = (await execute(writer, 'mutation { createThing(input: {name: "watched"}) { id } }')).data.createThing;
    const changes = await subscribeLive(client, `subscription { thingChanged(id: "${thing.id}") { action data { counter } } }`);
    await execute(writer, `mutation { patchThing(id: "${thing.id}", input: {counter: 1}) { id } }`);
    assert.deepEqual((await changes.next()).data, { thingChanged: { action: 'UPDATE', data: { counter: 1 } } });

    const droppedBefore = metric(await scrape(app.url), `${M}events_dropped_total`, { reason: 'user_inactive' });
    await app.knex('users').where({ username }).update({ is_active: false });
    for (let counter = 2; counter <= 4; counter++)
      await execute(writer, `mutation { patchThing(id: "${thing.id}", input: {counter: ${counter}}) { id } }`);
    await changes.ended();
    assert.equal(closedWith, 4403);
    assert.equal(changes.unread, 0, 'no event after the deactivation');
    assert.ok(metric(await scrape(app.url), `${M}events_dropped_total`, { reason: 'user_inactive' }) > droppedBefore);
    await writer.dispose();
    await client.dispose();
  });

  test('a user deactivated after connect gets no further event: legacy connection_error, then close 4403', async () => {
    const username = name('hank');
    const socket = await initialised(app, 'graphql-ws', { token: await app.token(username) });
    const writer = graphqlClient(app);
    const thing = (await execute(writer, 'mutation { createThing(input: {name: "watched"}) { id } }')).data.createThing;
    socket.send(operation('graphql-ws', 'sub', `subscription { thingChanged(id: "${thing.id}") { action data { counter } } }`));
    await typename(socket, 'graphql-ws', 'live');
    await execute(writer, `mutation { patchThing(id: "${thing.id}", input: {counter: 1}) { id } }`);
    assert.deepEqual(await socket.next(), {
      id: 'sub',
      type: 'data',
      payload: { data: { thingChanged: { action: 'UPDATE', data: { counter: 1 } } } },
    });

    await app.knex('users').where({ username }).update({ is_active: false });
    const frames = record(socket);
    for (let counter = 2; counter <= 4; counter++)
      await execute(writer, `mutation { patchThing(id: "${thing.id}", input: {counter: ${counter}}) { id } }`);
    assert.equal(await closeCode(socket.closed), 4403);
    assert.deepEqual(frames, [{ type: 'connection_error', payload: { message: 'User is no longer active.' } }]);
    await writer.dispose();
  });

  test('an active user keeps its events (the re-check on every event does not cut a valid socket off)', async () => {
    const client = graphqlClient(app, { token: await app.token(name('ivy')) });
    const writer = graphqlClient(app);
    const thing = (await execute(writer, 'mutation { createThing(input: {name: "kept"}) { id } }')).data.createThing;
    const changes: Recorded = await subscribeLive(client, `subscription { thingChanged(id: "${thing.id}") { data { counter } } }`);
    for (let counter = 1; counter <= 3; counter++) {
      await execute(writer, `mutation { patchThing(id: "${thing.id}", input: {counter: ${counter}}) { id } }`);
      assert.deepEqual((await changes.next()).data, { thingChanged: { data: { counter } } });
    }
    changes.dispose();
    await writer.dispose();
    await client.dispose();
  });
});

describe('the frame rate limit on GraphQL sockets (RATE_LIMIT_PER_SECOND 5, RATE_LIMIT_BURST 10, THROTTLE_CLOSE_MS 1000)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ gateway: { limits: { ratePerSecond: 5, rateBurst: 10, throttleCloseMs: 1000 } } });
  });
  after(async () => {
    await app.close();
  });

  for (const protocol of PROTOCOLS) {
    test(`${protocol}: an operation over the rate gets RATE_LIMITED 429; continued excess closes 1008`, async () => {
      const socket = await initialised(app, protocol);
      const frames = record(socket);
      for (let i = 0; i < 20; i++) socket.send(operation(protocol, `q${i}`, '{ __typename }'));
      const ended = (id: string) => frames.some((frame) => frame.id === id && (frame.type === 'complete' || frame.type === 'error'));
      await eventually(() => Array.from({ length: 20 }, (_, i) => `q${i}`).every(ended), 'every operation answered');
      const throttled = frames.filter((frame) => frame.type === 'error');
      // The burst of 10 (the init took one) lets the first ones through; the refill (5/s) perhaps one more.
      assert.ok(throttled.length >= 5 && throttled.length <= 11, `${throttled.length} throttled`);
      for (const frame of throttled) {
        assert.deepEqual(frame.payload, [{ message: 'Request was throttled.', extensions: { code: 'RATE_LIMITED', status: 429 } }]);
      }
      assert.ok(ended('q0') && frames.some((frame) => frame.id === 'q0' && (frame.type === 'next' || frame.type === 'data')));

      // Twice the rate, with gaps far under a second: the excess continues, and the socket is closed.
      let sent = 20;
      const timer = setInterval(() => {
        if (socket.ws.readyState === WebSocket.OPEN) socket.send(operation(protocol, `q${sent++}`, '{ __typename }'));
      }, 100);
      const code = await closeCode(socket.closed, 10_000);
      clearInterval(timer);
      assert.equal(code, 1008);
    });
  }

  test('rate hits and closes are counted', async () => {
    const text = await scrape(app.url);
    assert.ok(metric(text, `${M}limit_hits_total`, { limit: 'rate' }) >= 10);
    assert.equal(metric(text, `${M}limit_hits_total`, { limit: 'rate_close' }), 2);
  });
});

describe('events whose results are still being executed count against maxQueuedEvents', () => {
  // `ticks` pushes its events once the subscription is live; each event's `slow` field waits until released.
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const schema = buildGraphQLSchema({
    typeDefs: 'type Tick { n: Int! slow: Int! } type Query { ok: Boolean } type Subscription { ticks(count: Int!): Tick! }',
    resolvers: [
      {
        Tick: { slow: async (tick: { n: number }) => held.then(() => tick.n) },
        Subscription: {
          ticks: liveField<{ count: number }, { n: number }>(async (_context, args, push) => {
            const timer = setTimeout(() => {
              for (let n = 1; n <= args.count; n++) push({ n });
            }, 50);
            return () => clearTimeout(timer);
          }),
        },
      },
    ],
  });
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ gateway: { graphql: createGraphQLAdapter({ schema, limits: { maxQueuedEvents: 3 } }) } });
  });
  after(async () => {
    release();
    await app.close();
  });

  test('a subscription whose results pile up unexecuted ends with SLOW_CONSUMER (both protocols)', async () => {
    for (const protocol of PROTOCOLS) {
      const socket = await initialised(app, protocol);
      const answer = await socket.request(operation(protocol, 'ticks', 'subscription { ticks(count: 10) { n slow } }'));
      assert.deepEqual(answer, {
        id: 'ticks',
        type: 'error',
        payload: [
          {
            message: 'Subscription dropped: the client did not keep up with its events.',
            extensions: { code: 'SLOW_CONSUMER', status: 503 },
          },
        ],
      });
      socket.close();
    }
  });
});
