/**
 * Execution limits, checked before any resolver runs: tokens, depth, aliases, cost, introspection;
 * subscriptions per socket; the parse + validate cache; a slow subscriber's bounded queue.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'graphql-ws';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { execute, graphqlClient, post, Recorded, subscribeLive } from '../helpers/graphql.js';
import { createDemoGraphQLAdapter } from '../../src/demo/graphql.js';
import { TokenAuthenticator } from '../../src/demo/auth.js';
import { LiveStream, StreamBudget } from '../../src/graphql/live-stream.js';
import type { GraphQLGatewayAdapter } from '../../src/graphql/adapter.js';

let app: TestApp;
let adapter: GraphQLGatewayAdapter;
let client: Client;
before(async () => {
  adapter = createDemoGraphQLAdapter({
    authenticator: new TokenAuthenticator(),
    limits: { maxTokens: 60, maxDepth: 3, maxAliases: 2, maxCost: 100, listFactor: 10, introspection: false, maxSubscriptionsPerSocket: 2 },
  });
  app = await startTestApp({ gateway: { graphql: adapter } });
  client = graphqlClient(app);
});
after(async () => {
  await client.dispose();
  await app.close();
});

function codes(body: { errors?: Array<{ extensions?: { code?: string } }> }): string[] {
  return (body.errors ?? []).map((error) => error.extensions?.code ?? '');
}

test('depth, aliases and cost are refused before execution (nothing is written)', async () => {
  const deep = await post(app, '{ classroom(id: "1") { school { classrooms { school { id } } } } }');
  assert.deepEqual(codes(deep.body), ['QUERY_TOO_COMPLEX']);
  assert.match(deep.body.errors[0].message, /more than 3 levels deep/);
  const aliased = await post(app, '{ a: things { id } b: things { id } c: things { id } }');
  assert.deepEqual(codes(aliased.body), ['QUERY_TOO_COMPLEX']);
  const costly = await post(app, '{ schools { classrooms { id name } } }');
  assert.deepEqual(codes(costly.body), ['QUERY_TOO_COMPLEX']);
  assert.match(costly.body.errors[0].message, /costs more than 100/);
  const school = (await post(app, 'mutation { createSchool(input: {name: "s"}) { id } }')).body.data.createSchool.id;
  const mutationTooDeep = await post(
    app,
    'mutation($s: ID!) { createClassroom(input: {name: "c", school: $s}) { school { classrooms { school { id } } } } }',
    { s: school },
  );
  assert.deepEqual(codes(mutationTooDeep.body), ['QUERY_TOO_COMPLEX']);
  assert.deepEqual((await post(app, 'query($s: ID!) { school(id: $s) { classrooms(limit: 5) { id } } }', { s: school })).body, {
    data: { school: { classrooms: [] } },
  });
  const cheap = await post(app, '{ things(limit: 5) { id name counter } }');
  assert.equal(cheap.body.errors, undefined);
});

test('too many tokens is a parse error; introspection can be switched off', async () => {
  const fields = Array.from({ length: 80 }, () => 'id').join(' ');
  const long = await post(app, `{ things { ${fields} } }`);
  assert.deepEqual(codes(long.body), ['GRAPHQL_PARSE_FAILED']);
  assert.match(long.body.errors[0].message, /Document contains more th\w+ 60 tokens/);
  const introspection = await post(app, '{ __schema { types { name } } }');
  assert.ok(introspection.body.errors.length > 0);
  assert.deepEqual(new Set(codes(introspection.body)), new Set(['GRAPHQL_VALIDATION_FAILED']));
  assert.equal(introspection.body.data, undefined);
  assert.deepEqual((await post(app, '{ __typename }')).body, { data: { __typename: 'Query' } });
});

test('the same limits apply over WebSocket', async () => {
  const deep = new Recorded(client, 'subscription { classroomActivity { data { school { classrooms { id } } } } }');
  await deep.ended();
  assert.equal((deep.error as Array<{ extensions: { code: string } }>)[0]!.extensions.code, 'QUERY_TOO_COMPLEX');
});

test('a socket holds a bounded number of subscriptions', async () => {
  const first = await subscribeLive(client, 'subscription { thingActivity { action } }');
  const second = await subscribeLive(client, 'subscription { testActivity { action } }');
  const third = new Recorded(client, 'subscription { joinedChat(chatId: "x") { username } }');
  await third.ended();
  assert.deepEqual(third.results[0]!.errors![0]!.extensions, { code: 'THROTTLED', status: 429 });
  first.dispose();
  await execute(client, '{ __typename }');
  const again = await subscribeLive(client, 'subscription { joinedChat(chatId: "x") { username } }');
  await execute(client, 'mutation { joinChat(chatId: "x") }');
  assert.deepEqual((await again.next()).data, { joinedChat: { username: 'anonymous' } });
  second.dispose();
  again.dispose();
});

test('documents are parsed and validated once per text', async () => {
  const query = '{ things(limit: 5) { id } }';
  await post(app, query);
  const hits = adapter.engine.cache.hits;
  await post(app, query);
  await execute(client, query);
  assert.equal(adapter.engine.cache.hits, hits + 2);
});

test('a subscription whose reader falls behind ends with SLOW_CONSUMER and frees its slot', async () => {
  const budget = new StreamBudget(1, 2);
  const stream = new LiveStream<number>(budget.maxQueued);
  let unsubscribed = 0;
  stream.onClose(budget.acquire());
  stream.onClose(() => unsubscribed++);
  stream.push(1);
  stream.push(2);
  assert.equal(budget.active, 1);
  stream.push(3);
  await assert.rejects(
    stream.next(),
    (error: { code?: string; status?: number }) => error.code === 'SLOW_CONSUMER' && error.status === 503,
  );
  assert.equal(unsubscribed, 1);
  assert.equal(budget.active, 0);
  assert.deepEqual(await stream.next(), { value: undefined, done: true });
});
