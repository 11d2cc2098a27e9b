/**
 * A graceful close over real sockets: work under way when `Gateway.close()` (SIGTERM's path) begins
 * still gets its answer: a DCRF action and a detached one, a GraphQL mutation over
 * graphql-transport-ws, a query over the legacy protocol, a GraphQL POST and a plain HTTP route.
 * Meanwhile new upgrades and requests are refused 503; then the sockets close 1001. Work that never
 * ends is cut off after `shutdownGraceMs`; live subscriptions do not hold the close.
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import { TestSocket } from '../helpers/app.js';
import { eventually, startGateway, type TestGateway } from '../helpers/hardening.js';
import { upgradeStatus } from '../helpers/dcrf.js';
import { AsyncAPIConsumer, type ConsumerClass } from '../../src/dcrf/consumer.js';
import { action } from '../../src/dcrf/actions.js';
import type { ActionResult } from '../../src/dcrf/protocol.js';
import { buildGraphQLSchema } from '../../src/graphql/bind.js';
import { createGraphQLAdapter } from '../../src/graphql/adapter.js';
import type { HttpRoute } from '../../src/server/gateway.js';

/** A gate the test opens: every slow piece of work waits on it. */
let open: () => void = () => undefined;
let gate = new Promise<void>((resolve) => (open = resolve));
let started = 0;

function resetGate(): void {
  gate = new Promise<void>((resolve) => (open = resolve));
  started = 0;
}

async function slowly<T>(value: T): Promise<T> {
  started++;
  await gate;
  return value;
}

class SlowConsumer extends AsyncAPIConsumer {
  @action()
  async slow(): Promise<ActionResult> {
    return [await slowly('replied'), 200];
  }

  @action({ detached: true })
  async slow_detached(): Promise<ActionResult> {
    return [await slowly('detached replied'), 200];
  }

  @action()
  async subscribe_ticks(): Promise<ActionResult> {
    return [null, 201];
  }
}

const schema = buildGraphQLSchema({
  typeDefs: 'type Query { slow: String! } type Mutation { slowWrite: String! } type Subscription { ticks: Int! }',
  resolvers: [
    {
      Query: { slow: () => slowly('read') },
      Mutation: { slowWrite: () => slowly('written') },
      Subscription: {
        ticks: {
          subscribe: () =>
            (async function* () {
              yield { ticks: 1 };
              await new Promise(() => undefined); // live until released
            })(),
        },
      },
    },
  ],
});

const slowRoute: HttpRoute = async (_request, response, url) => {
  if (url.pathname !== '/slow') return false;
  const body = await slowly('route answered');
  response.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  return true;
};

async function startSlowGateway(shutdownGraceMs: number): Promise<TestGateway> {
  return startGateway({
    streams: { slow: SlowConsumer as unknown as ConsumerClass },
    graphql: createGraphQLAdapter({ schema }),
    routes: [slowRoute],
    shutdownGraceMs,
  });
}

function graphqlClient(gw: TestGateway): Client {
  return createClient({ url: `${gw.wsUrl}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
}

/** A legacy (subscriptions-transport-ws) socket past its ack, with an inbox. */
async function legacySocket(gw: TestGateway): Promise<TestSocket> {
  const socket = await TestSocket.open(`${gw.wsUrl}/graphql`, { protocols: ['graphql-ws'] });
  socket.send({ type: 'connection_init' });
  assert.equal((await socket.next()).type, 'connection_ack');
  return socket;
}

/** The next legacy message that is not a keep-alive. */
async function nextMessage(socket: TestSocket): Promise<any> {
  for (;;) {
    const message = await socket.next();
    if (message.type !== 'ka') return message;
  }
}

describe('work under way when the gateway closes', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    open();
    await gw?.close();
    resetGate();
  });
  after(() => open());

  test('gets its answer on every protocol; new upgrades and requests get 503 meanwhile; then the sockets close 1001', async () => {
    gw = await startSlowGateway(10_000);
    const dcrf = await TestSocket.open(`${gw.wsUrl}/ws/slow/`);
    // The detached one first: a normal action holds the frames after it until it replies.
    dcrf.send({ action: 'slow_detached', request_id: 'detached' });
    dcrf.send({ action: 'slow', request_id: 'normal' });

    const client = graphqlClient(gw);
    const mutation = new Promise<unknown>((resolve, reject) => {
      let result: unknown;
      client.subscribe(
        { query: 'mutation { slowWrite }' },
        { next: (value) => (result = value), error: reject, complete: () => resolve(result) },
      );
    });
    const legacy = await legacySocket(gw);
    legacy.send({ id: 'q', type: 'start', payload: { query: '{ slow }' } });
    const post = fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: 'mutation { slowWrite }' }),
    });
    const route = fetch(`${gw.url}/slow`);
    await eventually(() => started === 6, 'all six pieces of work started');

    const closing = gw.gateway.close();
    assert.equal(await upgradeStatus(`${gw.wsUrl}/ws/slow/`), 503);
    assert.equal(await upgradeStatus(`${gw.wsUrl}/graphql`, { protocols: ['graphql-transport-ws'] }), 503);
    const refused = await fetch(`${gw.url}/healthz`);
    assert.equal(refused.status, 503);
    assert.deepEqual(await refused.json(), { detail: 'Server shutting down.' });
    assert.equal(dcrf.closeCode, undefined, 'the socket waits for its action');
    // A frame sent once the drain began is not taken: it never runs.
    dcrf.send({ action: 'slow_detached', request_id: 'late' });

    open();
    const replies = [await dcrf.next(), await dcrf.next()].sort((a, b) => String(a.request_id).localeCompare(String(b.request_id)));
    assert.deepEqual(
      replies.map((reply) => [reply.request_id, reply.response_status, reply.data]),
      [
        ['detached', 200, 'detached replied'],
        ['normal', 200, 'replied'],
      ],
    );
    assert.deepEqual(await mutation, { data: { slowWrite: 'written' } });
    assert.deepEqual(await nextMessage(legacy), { id: 'q', type: 'data', payload: { data: { slow: 'read' } } });
    assert.deepEqual(await nextMessage(legacy), { id: 'q', type: 'complete' });
    const posted = await post;
    assert.equal(posted.status, 200);
    assert.deepEqual(await posted.json(), { data: { slowWrite: 'written' } });
    assert.equal(await (await route).text(), 'route answered');

    await closing;
    assert.equal(await dcrf.closed, 1001);
    assert.equal(started, 6, 'the late frame ran');
    assert.equal(await legacy.closed, 1001);
    await client.dispose();
  });

  test('work that never ends is cut off after shutdownGraceMs, and its socket closed 1001', async () => {
    gw = await startSlowGateway(300);
    const dcrf = await TestSocket.open(`${gw.wsUrl}/ws/slow/`);
    dcrf.send({ action: 'slow', request_id: 'forever' });
    await eventually(() => started === 1, 'the action started');
    const begun = Date.now();
    await gw.gateway.close();
    // Generous: the bound is 300 ms; a loaded 2-core machine may add seconds, never ten.
    assert.ok(Date.now() - begun < 5000, `close took ${Date.now() - begun} ms`);
    assert.equal(await dcrf.closed, 1001);
  });

  test('live subscriptions do not hold the close', async () => {
    gw = await startSlowGateway(10_000);
    const client = graphqlClient(gw);
    const first = new Promise<unknown>((resolve) =>
      client.subscribe({ query: 'subscription { ticks }' }, { next: resolve, error: resolve, complete: () => undefined }),
    );
    assert.deepEqual(await first, { data: { ticks: 1 } });
    const legacy = await legacySocket(gw);
    legacy.send({ id: 's', type: 'start', payload: { query: 'subscription { ticks }' } });
    assert.deepEqual(await nextMessage(legacy), { id: 's', type: 'data', payload: { data: { ticks: 1 } } });
    const dcrf = await TestSocket.open(`${gw.wsUrl}/ws/slow/`);
    assert.equal((await dcrf.request({ action: 'subscribe_ticks', request_id: 1 })).response_status, 201);
    const begun = Date.now();
    await gw.gateway.close();
    assert.ok(Date.now() - begun < 5000, `close took ${Date.now() - begun} ms with a 10 s grace`);
    assert.equal(await legacy.closed, 1001);
    assert.equal(await dcrf.closed, 1001);
    await client.dispose();
  });
});
