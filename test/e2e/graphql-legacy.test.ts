/**
 * The legacy `graphql-ws` protocol (subscriptions-transport-ws) with its real client, and frame by
 * frame: init/ack/ka, start/stop, data/error/complete, a refused token, release on close.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import legacy from 'subscriptions-transport-ws';
import WebSocket from 'ws';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';

const { SubscriptionClient } = legacy;
type LegacyClient = InstanceType<typeof SubscriptionClient>;
let app: TestApp;
let url: string;

before(async () => {
  app = await startTestApp();
  url = `${app.wsUrl}/graphql`;
});
after(async () => {
  await app.close();
});

/** A legacy client; resolves once the server acknowledged (or rejects with its connection_error). */
function connect(connectionParams: Record<string, unknown> = {}): Promise<LegacyClient> {
  return new Promise((resolve, reject) => {
    let closed: Promise<number> | undefined;
    const client: LegacyClient = new SubscriptionClient(
      url,
      {
        connectionParams,
        reconnect: false,
        connectionCallback: (error: unknown) =>
          error ? reject(Object.assign(new Error('connection_error'), { payload: error, client, closed })) : resolve(client),
      },
      WebSocket,
    );
    // The client's own socket (a `ws` instance): the test reads its close code.
    const raw = (client as unknown as { client: WebSocket }).client;
    closed = new Promise((resolveClose) => raw.once('close', (code: number) => resolveClose(code)));
  });
}

/** Collects an operation's results. */
function operate(client: LegacyClient, query: string, variables?: Record<string, unknown>) {
  const results: any[] = [];
  const waiters: Array<() => void> = [];
  let done = false;
  let failure: unknown;
  const wake = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  const subscription = client.request({ query, variables }).subscribe({
    next: (value: unknown) => {
      results.push(value);
      wake();
    },
    error: (error: unknown) => {
      failure = error;
      wake();
    },
    complete: () => {
      done = true;
      wake();
    },
  });
  let read = 0;
  return {
    results,
    get done() {
      return done;
    },
    get failure() {
      return failure;
    },
    stop: () => subscription.unsubscribe(),
    async next(timeoutMs = 3000): Promise<any> {
      const deadline = Date.now() + timeoutMs;
      while (read >= results.length) {
        if (failure !== undefined) throw new Error(`failed: ${JSON.stringify(failure)}`);
        if (done) throw new Error('completed');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no result in time');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return results[read++];
    },
    async ended(timeoutMs = 3000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!done && failure === undefined) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('did not end in time');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}

test('legacy client: connect, query, mutation', async () => {
  const client = await connect();
  const created = operate(client, 'mutation { createThing(input: {name: "legacy"}) { id name counter } }');
  const result = await created.next();
  await created.ended();
  assert.equal(created.done, true);
  const thing = result.data.createThing;
  assert.deepEqual(thing, { id: thing.id, name: 'legacy', counter: 0 });
  const read = operate(client, 'query($id: ID!) { thing(id: $id) { id name counter } me { id } }', { id: thing.id });
  assert.deepEqual(await read.next(), { data: { thing, me: null } });
  client.close();
});

test('legacy client: a token in connectionParams; an unknown token gets connection_error and a close', async () => {
  const token = await app.token('dora');
  const client = await connect({ authorization: `Bearer ${token}` });
  const me = operate(client, '{ me { username } }');
  assert.deepEqual(await me.next(), { data: { me: { username: 'dora' } } });
  client.close();

  const refused = await connect({ token: 'nope' }).then(
    () => assert.fail('the server acknowledged an unknown token'),
    (error: { payload: unknown; client: LegacyClient; closed: Promise<number> }) => error,
  );
  assert.deepEqual(refused.payload, { message: 'Invalid token.' });
  assert.equal(await refused.closed, 4403);
  refused.client.close();
});

test('legacy client: subscription events, errors as data, stop ends the events', async () => {
  const client = await connect();
  const thing = (await operate(client, 'mutation { createThing(input: {name: "sub"}) { id } }').next()).data.createThing;
  const changed = operate(client, 'subscription($id: ID!) { thingChanged(id: $id) { action data { id name counter } } }', { id: thing.id });
  // Operations of one socket start in order: once this query answered, the subscription is live.
  await operate(client, '{ __typename }').next();
  await operate(client, 'mutation($id: ID!) { patchThing(id: $id, input: {counter: 9}) { id } }', { id: thing.id }).next();
  assert.deepEqual(await changed.next(), { data: { thingChanged: { action: 'UPDATE', data: { id: thing.id, name: 'sub', counter: 9 } } } });
  const failing = operate(client, 'mutation { createThing(input: {name: ""}) { id } }');
  const failed = await failing.next();
  assert.deepEqual(failed.errors[0].extensions, {
    code: 'BAD_USER_INPUT',
    status: 400,
    fields: { name: ['This field may not be blank.'] },
  });
  const topics = app.hub.hub.topicCount;
  changed.stop();
  await operate(client, '{ __typename }').next();
  assert.equal(app.hub.hub.topicCount, topics - 1);
  await operate(client, 'mutation($id: ID!) { patchThing(id: $id, input: {counter: 10}) { id } }', { id: thing.id }).next();
  await operate(client, '{ __typename }').next();
  assert.equal(changed.results.length, 1);
  client.close();
});

test('frames: ack then ka (never before the ack), start/data/complete, error for a bad document, stop, terminate', async () => {
  const socket = await TestSocket.open(url, { protocols: ['graphql-ws'] });
  assert.equal(socket.ws.protocol, 'graphql-ws');
  assert.equal(await socket.quiet(100), true);
  assert.deepEqual(await socket.request({ type: 'connection_init', payload: {} }), { type: 'connection_ack' });
  assert.deepEqual(await socket.next(), { type: 'ka' });
  assert.deepEqual(await socket.request({ id: '1', type: 'start', payload: { query: '{ me { id } }' } }), {
    id: '1',
    type: 'data',
    payload: { data: { me: null } },
  });
  assert.deepEqual(await socket.next(), { id: '1', type: 'complete' });
  const invalid = await socket.request({ id: '2', type: 'start', payload: { query: '{ nope }' } });
  assert.equal(invalid.type, 'error');
  assert.equal(invalid.payload[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');

  const topics = app.hub.hub.topicCount;
  socket.send({ id: '3', type: 'start', payload: { query: 'subscription { joinedChat(chatId: "legacy") { username chatId } }' } });
  socket.send({ id: '4', type: 'start', payload: { query: 'mutation { joinChat(chatId: "legacy") }' } });
  const frames = [await socket.next(), await socket.next(), await socket.next()];
  assert.deepEqual(
    frames.find((frame) => frame.id === '3'),
    { id: '3', type: 'data', payload: { data: { joinedChat: { username: 'anonymous', chatId: 'legacy' } } } },
  );
  assert.deepEqual(
    frames.filter((frame) => frame.id === '4'),
    [
      { id: '4', type: 'data', payload: { data: { joinChat: true } } },
      { id: '4', type: 'complete' },
    ],
  );
  assert.equal(app.hub.hub.topicCount, topics + 1);
  assert.deepEqual(await socket.request({ id: '3', type: 'stop' }), { id: '3', type: 'complete' });
  assert.equal(app.hub.hub.topicCount, topics);

  socket.send({ id: '5', type: 'start', payload: { query: 'subscription { testActivity { action } }' } });
  socket.send({ type: 'connection_terminate' });
  assert.equal(await socket.closed, 1000);
  for (let i = 0; i < 50 && app.hub.hub.topicCount !== topics; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(app.hub.hub.topicCount, topics);
});

test('frames: an unknown token on the upgrade gets connection_error at init, then close 4403', async () => {
  const socket = await TestSocket.open(`${url}?token=nope`, { protocols: ['graphql-ws'] });
  assert.deepEqual(await socket.request({ type: 'connection_init', payload: {} }), {
    type: 'connection_error',
    payload: { message: 'Invalid token.' },
  });
  assert.equal(await socket.closed, 4403);
});
