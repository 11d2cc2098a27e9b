/**
 * One execution per event for all subscribers of the same document, variables and user: what each
 * subscriber receives is still its own (its id, its user's view), results of async resolvers keep
 * the events' order, and turning sharing off executes per subscriber.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { graphqlClient, post, subscribeLive } from '../helpers/graphql.js';
import { logTruncate } from '../helpers/change-log.js';
import { bindResource, buildGraphQLSchema, createGraphQLAdapter, resourceCall, type GraphQLContext } from '../../src/index.js';
import { TokenAuthenticator } from '../../src/demo/auth.js';
import { openShareGroups } from '../../src/graphql/event-delivery.js';
import { testResource } from '../../src/demo/resources.js';

const typeDefs = `
  enum ChangeAction { CREATE UPDATE DELETE }
  type Note { id: ID! title: String! seenBy: String! later(ms: Int!): String! }
  type NoteEvent { action: ChangeAction! data: Note! }
  input NoteInput { title: String! }
  type Query { notes: [Note!]! }
  type Mutation { writeNote(input: NoteInput!): Note! }
  type Subscription { noteActivity: NoteEvent! }
`;

function makeSchema(executions: { seenBy: number }) {
  return buildGraphQLSchema({
    typeDefs,
    resolvers: [
      bindResource(testResource, { list: 'notes', activity: 'noteActivity', toGraphQL: (row) => ({ id: row.id, title: row.name }) }),
      {
        Note: {
          seenBy: (_note: unknown, _args: unknown, context: GraphQLContext) => {
            executions.seenBy++;
            return String(context.scope.user?.username ?? 'anonymous');
          },
          // Resolves after `ms` less the number in the title: the first of several writes is the slowest.
          later: async (note: { title: string }, args: { ms: number }) => {
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, args.ms - Number(note.title.replace(/\D/g, '')) * 10)));
            return note.title;
          },
        },
        Mutation: {
          writeNote: async (_root: unknown, args: { input: { title: string } }, context: GraphQLContext) => {
            const row = await testResource.create(resourceCall(context.scope), { name: args.input.title });
            return { id: row.id, title: row.name };
          },
        },
      },
    ],
  });
}

const shared = { seenBy: 0 };
const unshared = { seenBy: 0 };
let app: TestApp;
let unsharedApp: TestApp;
before(async () => {
  app = await startTestApp({
    gateway: { graphql: createGraphQLAdapter({ schema: makeSchema(shared), authenticator: new TokenAuthenticator() }) },
  });
  unsharedApp = await startTestApp({
    gateway: {
      graphql: createGraphQLAdapter({ schema: makeSchema(unshared), authenticator: new TokenAuthenticator(), shareEventResults: false }),
    },
  });
});
after(async () => {
  await Promise.all([app.close(), unsharedApp.close()]);
});

const ACTIVITY = 'subscription { noteActivity { action data { title seenBy } } }';

test('subscribers of the same operation and user share one execution; each user still sees its own view', async () => {
  const aliceToken = await app.token('alice');
  const bobToken = await app.token('bob');
  const clients = [
    graphqlClient(app),
    graphqlClient(app),
    graphqlClient(app),
    graphqlClient(app, { token: aliceToken }),
    graphqlClient(app, { token: aliceToken }),
    graphqlClient(app, { token: bobToken }),
  ];
  const groups = openShareGroups();
  try {
    const streams = await Promise.all(clients.map((client) => subscribeLive(client, ACTIVITY)));
    // The same document under another variable-free spelling is another operation: its own execution.
    const other = await subscribeLive(clients[0]!, 'subscription Other { noteActivity { action data { title seenBy } } }');
    assert.equal(openShareGroups(), groups + 4, 'one share group each: anonymous, alice, bob, the other operation');
    const before = shared.seenBy;
    assert.equal((await post(app, 'mutation { writeNote(input: {title: "shared"}) { id } }')).status, 200);
    const seen = await Promise.all(streams.map(async (stream) => (await stream.next()).data));
    const expected = (who: string) => ({ noteActivity: { action: 'CREATE', data: { title: 'shared', seenBy: who } } });
    assert.deepEqual(seen, [
      expected('anonymous'),
      expected('anonymous'),
      expected('anonymous'),
      expected('alice'),
      expected('alice'),
      expected('bob'),
    ]);
    assert.deepEqual((await other.next()).data, expected('anonymous'));
    // anonymous, alice, bob, and the other document: four executions for seven subscribers.
    assert.equal(shared.seenBy - before, 4);
    for (const stream of [...streams, other]) stream.dispose();
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
  }
  // Nothing of the subscriptions outlives them: the groups go with their last subscriber.
  for (let waited = 0; openShareGroups() !== groups && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(openShareGroups(), groups);
});

test('with shareEventResults: false every subscriber gets its own execution', async () => {
  const clients = [graphqlClient(unsharedApp), graphqlClient(unsharedApp), graphqlClient(unsharedApp)];
  try {
    const streams = await Promise.all(clients.map((client) => subscribeLive(client, ACTIVITY)));
    const before = unshared.seenBy;
    await post(unsharedApp, 'mutation { writeNote(input: {title: "own"}) { id } }');
    for (const stream of streams) assert.equal((await stream.next()).data?.noteActivity.data.seenBy, 'anonymous');
    assert.equal(unshared.seenBy - before, 3);
    for (const stream of streams) stream.dispose();
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
  }
});

test('results of async resolvers arrive in the order of the events, on both protocols', async () => {
  const query = 'subscription { noteActivity { data { later(ms: 200) } } }';
  const client = graphqlClient(app);
  const legacy = await TestSocket.open(`${app.wsUrl}/graphql`, { protocols: ['graphql-ws'] });
  try {
    const stream = await subscribeLive(client, query);
    assert.deepEqual(await legacy.request({ type: 'connection_init' }), { type: 'connection_ack' });
    assert.deepEqual(await legacy.next(), { type: 'ka' });
    legacy.send({ id: 'late', type: 'start', payload: { query } });
    // The legacy server answers in order too: a query after the start means the subscription is live.
    assert.equal((await legacy.request({ id: 'probe', type: 'start', payload: { query: '{ __typename }' } })).id, 'probe');
    assert.deepEqual(await legacy.next(), { id: 'probe', type: 'complete' });

    // One after the other: n1's result takes the longest, n5's the shortest.
    const titles = ['n1', 'n2', 'n3', 'n4', 'n5'];
    for (const title of titles) await post(app, `mutation { writeNote(input: {title: "${title}"}) { id } }`);
    const received: string[] = [];
    for (let i = 0; i < titles.length; i++) received.push((await stream.next()).data?.noteActivity.data.later);
    const legacyReceived: string[] = [];
    for (let i = 0; i < titles.length; i++) {
      const frame = await legacy.next();
      assert.equal(frame.id, 'late');
      assert.equal(frame.type, 'data');
      legacyReceived.push(frame.payload.data.noteActivity.data.later);
    }
    assert.deepEqual(received, titles);
    assert.deepEqual(legacyReceived, titles);
    stream.dispose();
  } finally {
    legacy.close();
    await client.dispose();
  }
});

test('a RESYNC ends the subscription after the results of the events before it, still being executed', async () => {
  const client = graphqlClient(app);
  try {
    const stream = await subscribeLive(client, 'subscription { noteActivity { data { title later(ms: 400) } } }');
    assert.equal((await post(app, 'mutation { writeNote(input: {title: "before"}) { id } }')).status, 200);
    // The event's result is being executed (400 ms) when the table is emptied.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const truncated = await logTruncate(app, 'Test');
    await stream.ended(5000);
    assert.deepEqual(
      stream.results.map((result) => result.data),
      [{ noteActivity: { data: { title: 'before', later: 'before' } } }],
    );
    const errors = stream.error as Array<{ extensions?: { code?: string; position?: string } }>;
    assert.equal(errors[0]?.extensions?.code, 'RESYNC');
    assert.equal(errors[0]?.extensions?.position, truncated);
  } finally {
    await client.dispose();
  }
});
