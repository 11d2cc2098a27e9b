/**
 * Declaring your own GraphQL types and binding resources to them: the README's recipe, served by the
 * gateway and checked from outside.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { execute, graphqlClient, post, subscribeLive } from '../helpers/graphql.js';
import { bindResource, buildGraphQLSchema, createGraphQLAdapter, liveField, printSDL } from '../../src/index.js';
import { TokenAuthenticator } from '../../src/demo/auth.js';
import { testResource } from '../../src/demo/resources.js';

const typeDefs = `
  enum ChangeAction { CREATE UPDATE DELETE }
  type Note { id: ID! title: String! }
  type NoteEvent { action: ChangeAction! data: Note! }
  input NoteInput { title: String! }
  type Query { notes: [Note!]! note(id: ID!): Note }
  type Mutation { writeNote(input: NoteInput!): Note! }
  type Subscription { noteActivity: NoteEvent! countdown(from: Int!): Int! }
`;

// The Test resource under other names: its serializer says `name`, the GraphQL type says `title`.
const schema = buildGraphQLSchema({
  typeDefs,
  resolvers: [
    bindResource(testResource, {
      list: 'notes',
      get: 'note',
      activity: 'noteActivity',
      toGraphQL: (row) => ({ id: row.id, title: row.name }),
    }),
    {
      // A field over your own event source: pushes `from` events at once, faster than any client reads.
      Subscription: {
        countdown: liveField<{ from: number }, number>(async (_context, args, push) => {
          for (let n = args.from; n > 0; n--) push(n);
          return () => undefined;
        }),
      },
      Mutation: {
        writeNote: async (_root: unknown, args: { input: { title: string } }, context: { scope: never }) => {
          const row = await testResource.create(context.scope, { name: args.input.title });
          return { id: row.id, title: row.name };
        },
      },
    },
  ],
});

let app: TestApp;
before(async () => {
  app = await startTestApp({
    gateway: {
      graphql: createGraphQLAdapter({
        schema,
        authenticator: new TokenAuthenticator(),
        limits: { maxQueuedEvents: 3, maxPendingMessages: 3 },
      }),
    },
  });
});
after(async () => {
  await app.close();
});

test('printSDL shows what was declared', () => {
  const sdl = printSDL(schema);
  assert.match(sdl, /type Note \{\n {2}id: ID!\n {2}title: String!\n\}/);
  assert.match(sdl, /noteActivity: NoteEvent!/);
});

test('a resolver for a field the SDL lacks is refused when the schema is built', () => {
  assert.throws(() => buildGraphQLSchema({ typeDefs, resolvers: [bindResource(testResource, { list: 'nope' })] }), /nope/);
});

test('bound fields serve the resource: queries, validation, live events shared with DCRF', async () => {
  const client = graphqlClient(app);
  const activity = await subscribeLive(client, 'subscription { noteActivity { action data { id title } } }');
  const tests = await TestSocket.open(`${app.wsUrl}/ws/tests/`);
  assert.deepEqual(await tests.request({ action: 'subscribe_activity', request_id: 1 }), reply('subscribe_activity', null, 201, 1));

  const written = await post(app, 'mutation { writeNote(input: {title: "hello"}) { id title } }');
  const note = written.body.data.writeNote;
  assert.deepEqual(note, { id: note.id, title: 'hello' });
  assert.deepEqual((await activity.next()).data, { noteActivity: { action: 'CREATE', data: note } });
  assert.deepEqual(await tests.next(), reply('create', { id: Number(note.id), name: 'hello' }, 200, 1));

  assert.deepEqual((await execute(client, '{ notes { id title } missing: note(id: "999") { id } }')).data, {
    notes: [note],
    missing: null,
  });
  const blank = await post(app, 'mutation { writeNote(input: {title: ""}) { id } }');
  assert.deepEqual(blank.body.errors[0].extensions, {
    code: 'BAD_USER_INPUT',
    status: 400,
    fields: { name: ['This field may not be blank.'] },
  });
  activity.dispose();
  tests.close();
  await client.dispose();
});

test('events beyond the queue bound end the subscription with SLOW_CONSUMER; the socket stays open (both protocols)', async () => {
  const current = await TestSocket.open(`${app.wsUrl}/graphql`, { protocols: ['graphql-transport-ws'] });
  await current.request({ type: 'connection_init' });
  const within = await current.request({ id: 'ok', type: 'subscribe', payload: { query: 'subscription { countdown(from: 3) }' } });
  assert.deepEqual(within, { id: 'ok', type: 'next', payload: { data: { countdown: 3 } } });
  assert.deepEqual(await current.next(), { id: 'ok', type: 'next', payload: { data: { countdown: 2 } } });
  assert.deepEqual(await current.next(), { id: 'ok', type: 'next', payload: { data: { countdown: 1 } } });
  const dropped = await current.request({ id: 'slow', type: 'subscribe', payload: { query: 'subscription { countdown(from: 10) }' } });
  assert.equal(dropped.type, 'error');
  assert.equal(dropped.id, 'slow');
  assert.deepEqual(dropped.payload[0].extensions, { code: 'SLOW_CONSUMER', status: 503 });
  assert.deepEqual(await current.request({ type: 'ping' }), { type: 'pong' });
  // The failed id is free again: no `complete` came after the error, and no 4409 now.
  assert.equal(
    (await current.request({ id: 'slow', type: 'subscribe', payload: { query: 'subscription { countdown(from: 1) }' } })).type,
    'next',
  );
  current.close();

  const legacy = await TestSocket.open(`${app.wsUrl}/graphql`, { protocols: ['graphql-ws'] });
  assert.deepEqual(await legacy.request({ type: 'connection_init' }), { type: 'connection_ack' });
  assert.deepEqual(await legacy.next(), { type: 'ka' });
  const legacyDropped = await legacy.request({ id: '1', type: 'start', payload: { query: 'subscription { countdown(from: 10) }' } });
  assert.equal(legacyDropped.type, 'error');
  assert.equal(legacyDropped.payload[0].extensions.code, 'SLOW_CONSUMER');
  const after = await legacy.request({ id: '2', type: 'start', payload: { query: '{ notes { id } }' } });
  assert.equal(after.type, 'data');
  assert.ok(Array.isArray(after.payload.data.notes));
  legacy.close();
});

test('a socket that sends faster than its operations start is closed 1008 (bounded inbound queue)', async () => {
  const legacy = await TestSocket.open(`${app.wsUrl}/graphql`, { protocols: ['graphql-ws'] });
  // All in one go: the first start is still running when the others arrive.
  legacy.send({ type: 'connection_init' });
  for (let i = 0; i < 8; i++) legacy.send({ id: String(i), type: 'start', payload: { query: '{ notes { id } }' } });
  assert.equal(await legacy.closed, 1008);
});
