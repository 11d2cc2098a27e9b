/**
 * graphql-transport-ws protocol facts, frame by frame over a raw socket (close codes, ping/pong,
 * ids), and the real graphql-ws client's view of a refused token.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { graphqlClient } from '../helpers/graphql.js';
import { createDemoGraphQLAdapter } from '../../src/demo/graphql.js';
import { TokenAuthenticator } from '../../src/demo/auth.js';

const PROTOCOL = ['graphql-transport-ws'];
let app: TestApp;
let url: string;

before(async () => {
  app = await startTestApp({
    gateway: {
      graphql: createDemoGraphQLAdapter({ authenticator: new TokenAuthenticator(), connectionInitWaitTimeout: 300, userRecheckMs: 0 }),
    },
  });
  url = `${app.wsUrl}/graphql`;
});
after(async () => {
  await app.close();
});

async function acknowledged(path = url): Promise<TestSocket> {
  const socket = await TestSocket.open(path, { protocols: PROTOCOL });
  assert.equal(socket.ws.protocol, 'graphql-transport-ws');
  assert.deepEqual(await socket.request({ type: 'connection_init' }), { type: 'connection_ack' });
  return socket;
}

test('a query: next then complete; ping gets pong before and after the ack', async () => {
  const socket = await TestSocket.open(url, { protocols: PROTOCOL });
  assert.deepEqual(await socket.request({ type: 'ping', payload: { n: 1 } }), { type: 'pong', payload: { n: 1 } });
  assert.deepEqual(await socket.request({ type: 'connection_init' }), { type: 'connection_ack' });
  assert.deepEqual(await socket.request({ type: 'ping' }), { type: 'pong' });
  assert.deepEqual(await socket.request({ id: 'q1', type: 'subscribe', payload: { query: '{ me { id } }' } }), {
    id: 'q1',
    type: 'next',
    payload: { data: { me: null } },
  });
  assert.deepEqual(await socket.next(), { id: 'q1', type: 'complete' });
  socket.close();
});

test('a validation error is `error` (no complete after it) and the socket stays open', async () => {
  const socket = await acknowledged();
  const error = await socket.request({ id: 'bad', type: 'subscribe', payload: { query: '{ nope }' } });
  assert.equal(error.type, 'error');
  assert.equal(error.id, 'bad');
  assert.equal(error.payload[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
  assert.deepEqual(await socket.request({ type: 'ping' }), { type: 'pong' });
  socket.close();
});

test('4400: a message that is not a protocol message', async () => {
  for (const frame of ['not json', { type: 'what' }, { type: 'subscribe', id: 'x' }]) {
    const socket = await acknowledged();
    socket.send(frame);
    assert.equal(await socket.closed, 4400);
  }
});

test('4401: subscribe before connection_init', async () => {
  const socket = await TestSocket.open(url, { protocols: PROTOCOL });
  socket.send({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } });
  assert.equal(await socket.closed, 4401);
});

test('4403: an unknown token in the init payload or on the upgrade', async () => {
  for (const payload of [{ token: 'nope' }, { authorization: 'Bearer nope' }]) {
    const socket = await TestSocket.open(url, { protocols: PROTOCOL });
    socket.send({ type: 'connection_init', payload });
    assert.equal(await socket.closed, 4403);
  }
  const byQuery = await TestSocket.open(`${url}?token=nope`, { protocols: PROTOCOL });
  assert.equal(await byQuery.closed, 4403);
  const byHeader = await TestSocket.open(url, { protocols: PROTOCOL, headers: { authorization: 'Bearer nope' } });
  assert.equal(await byHeader.closed, 4403);
});

test('the graphql-ws client sees 4403 for a bad token', async () => {
  let closeCode: number | undefined;
  const client = graphqlClient(app, { connectionParams: { token: 'nope' }, onClose: (code) => (closeCode = code) });
  const outcome = await new Promise<unknown>((resolve) =>
    client.subscribe({ query: '{ __typename }' }, { next: () => undefined, error: resolve, complete: () => resolve('complete') }),
  );
  assert.equal(closeCode, 4403);
  assert.equal((outcome as { code?: number }).code, 4403);
  await client.dispose();
});

test('4408: no connection_init in time', async () => {
  const socket = await TestSocket.open(url, { protocols: PROTOCOL });
  assert.equal(await socket.closed, 4408);
});

test('4409: a subscribe whose id is active, even while the first is still being prepared', async () => {
  const active = await acknowledged();
  active.send({ id: 'same', type: 'subscribe', payload: { query: 'subscription { thingActivity { action } }' } });
  active.send({ id: 'same', type: 'subscribe', payload: { query: 'subscription { testActivity { action } }' } });
  assert.equal(await active.closed, 4409);

  const later = await acknowledged();
  later.send({ id: 'same', type: 'subscribe', payload: { query: 'subscription { thingActivity { action } }' } });
  assert.deepEqual(await later.request({ id: 'q', type: 'subscribe', payload: { query: '{ __typename }' } }), {
    id: 'q',
    type: 'next',
    payload: { data: { __typename: 'Query' } },
  });
  await later.next();
  later.send({ id: 'same', type: 'subscribe', payload: { query: 'subscription { thingActivity { action } }' } });
  assert.equal(await later.closed, 4409);
});

test('an id can be reused once its operation completed', async () => {
  const socket = await acknowledged();
  for (let round = 0; round < 2; round++) {
    assert.equal((await socket.request({ id: 'again', type: 'subscribe', payload: { query: '{ __typename }' } })).type, 'next');
    assert.deepEqual(await socket.next(), { id: 'again', type: 'complete' });
  }
  socket.close();
});

test('4429: a second connection_init', async () => {
  const socket = await acknowledged();
  socket.send({ type: 'connection_init' });
  assert.equal(await socket.closed, 4429);
});

test('complete sent right behind its subscribe releases the subscription', async () => {
  const socket = await acknowledged();
  const before = app.hub.hub.topicCount;
  socket.send({ id: 's', type: 'subscribe', payload: { query: 'subscription { testActivity { action } }' } });
  socket.send({ id: 's', type: 'complete' });
  // The server handles a socket's messages in order: once this answer arrives both were handled.
  assert.equal((await socket.request({ id: 'q', type: 'subscribe', payload: { query: '{ __typename }' } })).type, 'next');
  await socket.next();
  assert.equal(app.hub.hub.topicCount, before);
  // Nothing arrives for the completed id when a test row is written.
  assert.equal(
    (await socket.request({ id: 'm', type: 'subscribe', payload: { query: 'mutation { createTest(input: {name: "x"}) { id } }' } })).id,
    'm',
  );
  assert.deepEqual(await socket.next(), { id: 'm', type: 'complete' });
  assert.equal(await socket.quiet(200), true);
  socket.close();
});

test('closing the socket releases its subscriptions', async () => {
  const before = app.hub.hub.topicCount;
  const socket = await acknowledged();
  socket.send({ id: 'a', type: 'subscribe', payload: { query: 'subscription { joinedChat(chatId: "closing") { username } }' } });
  await socket.request({ id: 'q', type: 'subscribe', payload: { query: '{ __typename }' } });
  await socket.next();
  assert.ok(app.hub.hub.topicCount > before);
  socket.close();
  await socket.closed;
  // The server side of the close runs after the client saw it; wait for it with a bounded poll.
  for (let i = 0; i < 50 && app.hub.hub.topicCount !== before; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(app.hub.hub.topicCount, before);
});

test('a user deactivated after connect: the next operation closes the socket 4403 (both protocols)', async () => {
  const { User } = await import('../../src/demo/models.js');
  for (const [username, protocol] of [
    ['gina', 'graphql-transport-ws'],
    ['hank', 'graphql-ws'],
  ] as const) {
    const token = await app.token(username);
    const socket = await TestSocket.open(url, { protocols: [protocol] });
    assert.equal((await socket.request({ type: 'connection_init', payload: { token } })).type, 'connection_ack');
    if (protocol === 'graphql-ws') assert.deepEqual(await socket.next(), { type: 'ka' });
    const start = protocol === 'graphql-ws' ? 'start' : 'subscribe';
    const me = await socket.request({ id: '1', type: start, payload: { query: '{ me { username } }' } });
    assert.deepEqual(me.payload, { data: { me: { username } } });
    await socket.next(); // complete
    await User.query().patch({ is_active: false }).where('username', username);
    socket.send({ id: '2', type: start, payload: { query: '{ me { username } }' } });
    const frames: unknown[] = [];
    socket.ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
    assert.equal(await socket.closed, 4403);
    assert.deepEqual(
      frames.filter((frame) => (frame as { type: string }).type === 'data' || (frame as { type: string }).type === 'next'),
      [],
    );
  }
});
