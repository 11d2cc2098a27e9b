/**
 * A resource's row scope holds for every subscription kind, on both protocols (issue 12, item 4):
 * the demo's `notes` stream and GraphQL fields (each user sees and hears of their own notes only), and
 * a test app over the library's exports whose scope is a column the test patches, so rows enter and
 * leave a subscriber's view: `subscribe_many`, a model observer's groups, `subscribe_instance`,
 * GraphQL `*Activity` and group subscriptions, and a resource with only an opaque queryset.
 *
 * "Nothing arrives" is shown by order, not by waiting: a subscriber's events come in commit order, so
 * after another user's write, the next frame a subscriber gets is the one of its own later write.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  action,
  bindResource,
  buildGraphQLSchema,
  createGraphQLAdapter,
  liveField,
  modelObserver,
  modelSerializer,
  Resource,
  resourceCall,
  type ActionArgs,
  type ActionResult,
  type ConsumerClass,
  type GraphQLChangeEvent,
} from '../../src/index.js';
import { TokenAuthenticator } from '../../src/demo/auth.js';
import { UserConsumer } from '../../src/demo/consumers.js';
import { Note, User } from '../../src/demo/models.js';
import { NoteConsumer } from '../../src/demo/notes.js';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { execute, graphqlClient, post, subscribeLive } from '../helpers/graphql.js';

const DENIED = 'You do not have permission to perform this action.';

/** A DCRF socket on `path` as the user of `token` (anonymous without one). */
function dcrf(app: TestApp, path: string, token?: string): Promise<TestSocket> {
  return TestSocket.open(`${app.wsUrl}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
}

/** An event frame of a subscription, as DCRF sends it. */
function event(action: string, data: unknown, requestId: unknown, status = 200) {
  return { errors: [], data, action, response_status: status, request_id: requestId };
}

/** The user id behind a token, from the `users` stream's `me`. */
async function userId(app: TestApp, token: string): Promise<number> {
  const socket = await dcrf(app, '/ws/users/', token);
  const me = await socket.request({ action: 'me', request_id: 'me' });
  socket.close();
  return me.data.id as number;
}

describe('the demo notes stream and GraphQL fields: each user sees and hears of their own notes only', () => {
  let app: TestApp;
  let alice: string;
  let bob: string;
  let aliceId: number;
  let bobId: number;

  before(async () => {
    app = await startTestApp();
    alice = await app.token('alice');
    bob = await app.token('bob');
    aliceId = await userId(app, alice);
    bobId = await userId(app, bob);
  });
  after(async () => {
    await app.close();
  });

  test('GET /api/streams lists notes with its actions', async () => {
    const { streams } = (await (await fetch(`${app.url}/api/streams`)).json()) as {
      streams: Array<{ name: string; actions: Array<{ name: string }> }>;
    };
    const notes = streams.find((stream) => stream.name === 'notes');
    assert.ok(notes, 'notes is listed');
    assert.deepEqual(notes.actions.map((entry) => entry.name).sort(), [
      'create',
      'delete',
      'list',
      'patch',
      'retrieve',
      'subscribe_instance',
      'subscribe_many',
      'unsubscribe_instance',
      'unsubscribe_many',
    ]);
  });

  test('DCRF: anonymous callers are refused; the owner is the caller; another user\'s note is "Not found." and never an event', async () => {
    const guest = await dcrf(app, '/ws/notes/');
    for (const [requestId, frame] of Object.entries({
      list: { action: 'list' },
      create: { action: 'create', data: { text: 'guest' } },
      subscribe_many: { action: 'subscribe_many' },
      retrieve: { action: 'retrieve', pk: 1 },
    })) {
      assert.deepEqual(await guest.request({ ...frame, request_id: requestId }), reply(frame.action, null, 403, requestId, [DENIED]));
    }
    guest.close();

    const a = await dcrf(app, '/ws/notes/', alice);
    const b = await dcrf(app, '/ws/notes/', bob);
    assert.deepEqual(await a.request({ action: 'subscribe_many', request_id: 'a-many' }), reply('subscribe_many', null, 201, 'a-many'));
    assert.deepEqual(await b.request({ action: 'subscribe_many', request_id: 'b-many' }), reply('subscribe_many', null, 201, 'b-many'));

    // An owner in data is ignored: a note belongs to whoever creates it.
    const bobs = (await b.request({ action: 'create', data: { text: 'bob private', owner: aliceId }, request_id: 'b1' })).data;
    assert.deepEqual(bobs, { id: bobs.id, owner: bobId, text: 'bob private' });
    assert.deepEqual(await b.next(), event('create', bobs, 'b-many'));

    // Alice's next frame is the reply to her own create: bob's note never reached her.
    const alices = (await a.request({ action: 'create', data: { text: 'alice private' }, request_id: 'a1' })).data;
    assert.deepEqual(alices, { id: alices.id, owner: aliceId, text: 'alice private' });
    assert.deepEqual(await a.next(), event('create', alices, 'a-many'));

    const notFound = (name: string, requestId: string) => reply(name, null, 404, requestId, ['Not found.']);
    assert.deepEqual(await a.request({ action: 'retrieve', pk: bobs.id, request_id: 'r' }), notFound('retrieve', 'r'));
    assert.deepEqual(await a.request({ action: 'patch', pk: bobs.id, data: { text: 'hacked' }, request_id: 'p' }), notFound('patch', 'p'));
    assert.deepEqual(await a.request({ action: 'delete', pk: bobs.id, request_id: 'd' }), notFound('delete', 'd'));
    assert.deepEqual(await a.request({ action: 'subscribe_instance', pk: bobs.id, request_id: 's' }), notFound('subscribe_instance', 's'));
    // A missing note reads the same as another user's.
    assert.deepEqual(await a.request({ action: 'retrieve', pk: 999999, request_id: 'm' }), notFound('retrieve', 'm'));
    assert.deepEqual(await a.request({ action: 'list', request_id: 'l' }), reply('list', [alices], 200, 'l'));
    assert.deepEqual(await b.request({ action: 'list', request_id: 'l' }), reply('list', [bobs], 200, 'l'));

    // Bob's note unchanged by alice's attempts; bob's own patch and delete reach bob only.
    assert.deepEqual(await b.request({ action: 'retrieve', pk: bobs.id, request_id: 'r' }), reply('retrieve', bobs, 200, 'r'));
    assert.deepEqual(
      await b.request({ action: 'subscribe_instance', pk: bobs.id, request_id: 'b-one' }),
      reply('subscribe_instance', null, 201, 'b-one'),
    );
    const patched = { ...bobs, text: 'bob edited' };
    assert.deepEqual(
      await b.request({ action: 'patch', pk: bobs.id, data: { text: 'bob edited' }, request_id: 'b2' }),
      reply('patch', patched, 200, 'b2'),
    );
    const bobEvents = [await b.next(), await b.next()];
    assert.deepEqual(
      bobEvents.find((frame) => frame.request_id === 'b-many'),
      event('update', patched, 'b-many'),
    );
    assert.deepEqual(
      bobEvents.find((frame) => frame.request_id === 'b-one'),
      event('update', patched, 'b-one'),
    );
    assert.deepEqual(await b.request({ action: 'delete', pk: bobs.id, request_id: 'b3' }), reply('delete', null, 204, 'b3'));
    const deleted = [await b.next(), await b.next()];
    assert.deepEqual(
      deleted.find((frame) => frame.request_id === 'b-many'),
      event('delete', patched, 'b-many', 204),
    );
    assert.deepEqual(
      deleted.find((frame) => frame.request_id === 'b-one'),
      event('delete', { pk: bobs.id }, 'b-one', 204),
    );

    assert.deepEqual(
      await a.request({ action: 'patch', pk: alices.id, data: { text: 'alice edited' }, request_id: 'a2' }),
      reply('patch', { ...alices, text: 'alice edited' }, 200, 'a2'),
    );
    assert.deepEqual(await a.next(), event('update', { ...alices, text: 'alice edited' }, 'a-many'));
    a.close();
    b.close();
  });

  test("GraphQL: notes, note(id), noteActivity (both WebSocket protocols) cover the caller's notes only; anonymous is UNAUTHENTICATED", async () => {
    for (const query of ['{ notes { id } }', '{ note(id: "1") { id } }', 'mutation { createNote(input: {text: "x"}) { id } }']) {
      const answer = await post(app, query);
      assert.equal(answer.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', query);
    }
    const anonymous = graphqlClient(app);
    const refused = await execute(anonymous, 'subscription { noteActivity { action } }');
    assert.equal(refused.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    await anonymous.dispose();

    const aliceClient = graphqlClient(app, { token: alice });
    const bobClient = graphqlClient(app, { token: bob });
    const selection = '{ action data { id owner text } }';
    const aliceActivity = await subscribeLive(aliceClient, `subscription { noteActivity ${selection} }`);
    const bobActivity = await subscribeLive(bobClient, `subscription { noteActivity ${selection} }`);
    const legacy = await TestSocket.open(`${app.wsUrl}/graphql?token=${alice}`, { protocols: ['graphql-ws'] });
    assert.deepEqual(await legacy.request({ type: 'connection_init' }), { type: 'connection_ack' });
    legacy.send({ id: 'act', type: 'start', payload: { query: `subscription { noteActivity ${selection} }` } });
    // Started in order: the query's answer proves the subscription before it is live.
    legacy.send({ id: 'q', type: 'start', payload: { query: '{ __typename }' } });
    const legacyFrames = async (wanted: number) => {
      const frames = [];
      while (frames.length < wanted) {
        const frame = await legacy.next();
        if (frame.type !== 'ka' && frame.id !== 'q') frames.push(frame);
      }
      return frames;
    };
    for (;;) if ((await legacy.next()).id === 'q') break;

    const created = (await execute(bobClient, 'mutation { createNote(input: {text: "bob secret"}) { id owner text } }')).data!.createNote;
    assert.deepEqual(created, { id: created.id, owner: String(bobId), text: 'bob secret' });
    assert.deepEqual((await bobActivity.next()).data, { noteActivity: { action: 'CREATE', data: created } });

    const own = (await execute(aliceClient, 'mutation { createNote(input: {text: "alice secret"}) { id owner text } }')).data!.createNote;
    // Alice's first event is her own note: bob's never reached her, on either protocol.
    assert.deepEqual((await aliceActivity.next()).data, { noteActivity: { action: 'CREATE', data: own } });
    assert.deepEqual(await legacyFrames(1), [
      { id: 'act', type: 'data', payload: { data: { noteActivity: { action: 'CREATE', data: own } } } },
    ]);

    const read = await execute(
      aliceClient,
      `{ notes { id owner } theirs: note(id: "${created.id}") { id } mine: note(id: "${own.id}") { text } }`,
    );
    assert.deepEqual({ ...read.data, notes: undefined }, { notes: undefined, theirs: null, mine: { text: 'alice secret' } });
    assert.ok(read.data!.notes.some((row: { id: string }) => row.id === own.id));
    assert.deepEqual(
      read.data!.notes.filter((row: { owner: string }) => row.owner !== String(aliceId)),
      [],
    );
    // A list field with pagination arguments, as the others: alice has two notes by now.
    assert.equal(read.data!.notes.length, 2);
    assert.deepEqual((await execute(aliceClient, '{ notes(limit: 1, offset: 1) { id } }')).data, { notes: [{ id: own.id }] });
    for (const mutation of [`patchNote(id: "${created.id}", input: {text: "hacked"}) { id }`, `deleteNote(id: "${created.id}")`]) {
      const refused = await execute(aliceClient, `mutation { ${mutation} }`);
      assert.equal(refused.errors?.[0]?.extensions?.code, 'NOT_FOUND', mutation);
    }
    assert.deepEqual((await execute(bobClient, `{ note(id: "${created.id}") { text } }`)).data, { note: { text: 'bob secret' } });

    assert.equal((await execute(bobClient, `mutation { deleteNote(id: "${created.id}") }`)).data!.deleteNote, created.id);
    assert.deepEqual((await bobActivity.next()).data, { noteActivity: { action: 'DELETE', data: created } });
    assert.equal((await execute(aliceClient, `mutation { deleteNote(id: "${own.id}") }`)).data!.deleteNote, own.id);
    assert.deepEqual((await aliceActivity.next()).data, { noteActivity: { action: 'DELETE', data: own } });
    assert.deepEqual(await legacyFrames(1), [
      { id: 'act', type: 'data', payload: { data: { noteActivity: { action: 'DELETE', data: own } } } },
    ]);

    aliceActivity.dispose();
    bobActivity.dispose();
    legacy.close();
    await aliceClient.dispose();
    await bobClient.dispose();
  });
});

// ---- a test app: a scope the test moves rows in and out of ------------------------------------

const NoteWithOwner = modelSerializer(Note, { fields: ['id', 'owner', 'text'], relations: { owner: () => User } });

/** Notes whose owner anyone may change (so a row leaves one user's view and enters another's); AllowAny. */
const handedNotes = new Resource({
  model: Note,
  serializer: NoteWithOwner,
  name: 'handed',
  scope: ({ user }) => (user ? { owner: user.id as number } : false),
});

/** The same rule as an opaque queryset only: events cannot be judged in memory. */
const opaqueNotes = new Resource({
  model: Note,
  serializer: NoteWithOwner,
  name: 'opaque',
  queryset: (query, { user }) => query.where('notes.owner', (user?.id as number) ?? -1),
});

const WATCH = 'handed_note_watch';
/** One group per note: anyone may join any note's group, so the scope alone keeps other users out. */
const noteWatch = modelObserver<HandedNoteConsumer>(Note, {
  name: WATCH,
  serializer: NoteWithOwner,
  groupsForSignal: (row) => [`note__${String(row.id)}`],
  groupsForConsumer: (args) => [`note__${String(args.note)}`],
});

/** The demo's notes consumer over the handed resource, with a group subscription per note. */
class HandedNoteConsumer extends NoteConsumer {
  static override resource = handedNotes;

  @action({ args: ['note'] })
  async watch_note(args: ActionArgs): Promise<ActionResult> {
    await noteWatch.subscribe(this, args, args.request_id ?? null);
    return [null, 201];
  }
}

class OpaqueNoteConsumer extends NoteConsumer {
  static override resource = opaqueNotes;
}

const typeDefs = `
  enum ChangeAction { CREATE UPDATE DELETE }
  type Note { id: ID! owner: ID! text: String! }
  type NoteEvent { action: ChangeAction! data: Note! }
  type Query { notes: [Note!]! }
  type Subscription { handedActivity: NoteEvent! noteWatch(id: ID!): NoteEvent! opaqueActivity: NoteEvent! }
`;

function testSchema() {
  const toEvent = (event: { action: string; row: Record<string, unknown> | null }): GraphQLChangeEvent | undefined =>
    event.row
      ? { action: event.action.toUpperCase() as GraphQLChangeEvent['action'], data: handedNotes.serializer.toRepresentation(event.row) }
      : undefined;
  return buildGraphQLSchema({
    typeDefs,
    resolvers: [
      bindResource(handedNotes, { list: 'notes', activity: 'handedActivity' }),
      bindResource(opaqueNotes, { activity: 'opaqueActivity' }),
      {
        Subscription: {
          noteWatch: liveField<{ id: string }, GraphQLChangeEvent>((context, args, push) =>
            handedNotes.subscribeGroup(resourceCall(context.scope, args), noteWatch, `note__${args.id}`, (change) => {
              const value = toEvent(change);
              if (value) push(value);
            }),
          ),
        },
      },
    ],
  });
}

describe("a scope column the test patches: rows enter and leave each subscriber's view", () => {
  let app: TestApp;
  let alice: string;
  let bob: string;
  let aliceId: number;
  let bobId: number;

  before(async () => {
    const authenticator = new TokenAuthenticator();
    app = await startTestApp({
      gateway: {
        streams: {
          users: UserConsumer as unknown as ConsumerClass,
          handed: HandedNoteConsumer as unknown as ConsumerClass,
          opaque: OpaqueNoteConsumer as unknown as ConsumerClass,
        },
        graphql: createGraphQLAdapter({ schema: testSchema(), authenticator }),
      },
    });
    alice = await app.token('alice');
    bob = await app.token('bob');
    aliceId = await userId(app, alice);
    bobId = await userId(app, bob);
  });
  after(async () => {
    await app.close();
  });

  test("DCRF subscribe_many, group observer and subscribe_instance: leaving is a delete, entering a create, never another user's row", async () => {
    const a = await dcrf(app, '/ws/handed/', alice);
    const b = await dcrf(app, '/ws/handed/', bob);
    const note = (await a.request({ action: 'create', data: { owner: aliceId, text: 'handed over' }, request_id: 'c' })).data;
    assert.deepEqual(note, { id: note.id, owner: aliceId, text: 'handed over' });

    assert.equal((await a.request({ action: 'subscribe_many', request_id: 'a-many' })).response_status, 201);
    assert.equal((await a.request({ action: 'watch_note', note: note.id, request_id: 'a-watch' })).response_status, 201);
    assert.equal((await a.request({ action: 'subscribe_instance', pk: note.id, request_id: 'a-one' })).response_status, 201);
    assert.equal((await b.request({ action: 'subscribe_many', request_id: 'b-many' })).response_status, 201);
    // Bob joins the note's group while it is alice's: he may join any group, but hears nothing of it yet.
    assert.equal((await b.request({ action: 'watch_note', note: note.id, request_id: 'b-watch' })).response_status, 201);

    const edited = { ...note, text: 'edited by alice' };
    assert.deepEqual((await a.request({ action: 'patch', pk: note.id, data: { text: edited.text }, request_id: 'p1' })).data, edited);
    const aliceSaw = async (count: number) => {
      const frames = [];
      for (let i = 0; i < count; i++) frames.push(await a.next());
      return Object.fromEntries(frames.map((frame) => [frame.request_id, frame]));
    };
    assert.deepEqual(await aliceSaw(3), {
      'a-many': event('update', edited, 'a-many'),
      'a-watch': event('update', edited, 'a-watch'),
      'a-one': event('update', edited, 'a-one'),
    });

    // Alice hands the note to bob: it leaves her view (a delete with the last state she could see) and
    // enters his (a create, on subscribe_many and on the group he joined earlier).
    const handed = { ...edited, owner: bobId };
    assert.deepEqual((await a.request({ action: 'patch', pk: note.id, data: { owner: bobId }, request_id: 'p2' })).data, handed);
    assert.deepEqual(await aliceSaw(3), {
      'a-many': event('delete', edited, 'a-many', 204),
      'a-watch': event('delete', edited, 'a-watch'),
      // Her instance subscription: the row left what she may see, as DCRF says it (a 404 event).
      'a-one': { errors: ['Not found'], data: null, action: 'update', response_status: 404, request_id: 'a-one' },
    });
    // Bob's first frames are the note entering his view: nothing of it came while it was alice's.
    const bobSaw = [await b.next(), await b.next()];
    assert.deepEqual(Object.fromEntries(bobSaw.map((frame) => [frame.request_id, frame])), {
      'b-many': event('create', handed, 'b-many'),
      'b-watch': event('create', handed, 'b-watch'),
    });

    // Now bob's: his edits reach him, not alice (her next frame is her own reply).
    const bobEdit = { ...handed, text: 'bob now' };
    assert.deepEqual((await b.request({ action: 'patch', pk: note.id, data: { text: 'bob now' }, request_id: 'p3' })).data, bobEdit);
    assert.deepEqual(
      await a.request({ action: 'patch', pk: note.id, data: { text: 'x' }, request_id: 'p4' }),
      reply('patch', null, 404, 'p4', ['Not found']),
    );
    const bobEvents = [await b.next(), await b.next()];
    assert.deepEqual(Object.fromEntries(bobEvents.map((frame) => [frame.request_id, frame])), {
      'b-many': event('update', bobEdit, 'b-many'),
      'b-watch': event('update', bobEdit, 'b-watch'),
    });

    // Bob gives it back: bob sees it leave, alice sees it enter (and her instance subscription an update).
    const back = { ...bobEdit, owner: aliceId };
    assert.deepEqual((await b.request({ action: 'patch', pk: note.id, data: { owner: aliceId }, request_id: 'p5' })).data, back);
    assert.deepEqual(await aliceSaw(3), {
      'a-many': event('create', back, 'a-many'),
      'a-watch': event('create', back, 'a-watch'),
      'a-one': event('update', back, 'a-one'),
    });
    const bobLeft = [await b.next(), await b.next()];
    assert.deepEqual(Object.fromEntries(bobLeft.map((frame) => [frame.request_id, frame])), {
      'b-many': event('delete', bobEdit, 'b-many', 204),
      'b-watch': event('delete', bobEdit, 'b-watch'),
    });
    a.close();
    b.close();
  });

  test('GraphQL activity and group subscriptions: the same creates and deletes as the scope moves', async () => {
    const aliceClient = graphqlClient(app, { token: alice });
    const bobClient = graphqlClient(app, { token: bob });
    const writer = await dcrf(app, '/ws/handed/', alice);
    const note = (await writer.request({ action: 'create', data: { owner: aliceId, text: 'graphql' }, request_id: 'c' })).data;
    const asGraphQL = (row: { id: number; owner: number; text: string }) => ({
      id: String(row.id),
      owner: String(row.owner),
      text: row.text,
    });
    const selection = '{ action data { id owner text } }';
    const aliceActivity = await subscribeLive(aliceClient, `subscription { handedActivity ${selection} }`);
    const aliceWatch = await subscribeLive(aliceClient, `subscription { noteWatch(id: "${note.id}") ${selection} }`);
    const bobActivity = await subscribeLive(bobClient, `subscription { handedActivity ${selection} }`);
    const bobWatch = await subscribeLive(bobClient, `subscription { noteWatch(id: "${note.id}") ${selection} }`);

    await writer.request({ action: 'patch', pk: note.id, data: { text: 'private' }, request_id: 'p1' });
    const privateRow = { ...note, text: 'private' };
    assert.deepEqual((await aliceActivity.next()).data, { handedActivity: { action: 'UPDATE', data: asGraphQL(privateRow) } });
    assert.deepEqual((await aliceWatch.next()).data, { noteWatch: { action: 'UPDATE', data: asGraphQL(privateRow) } });

    await writer.request({ action: 'patch', pk: note.id, data: { owner: bobId }, request_id: 'p2' });
    assert.deepEqual((await aliceActivity.next()).data, { handedActivity: { action: 'DELETE', data: asGraphQL(privateRow) } });
    assert.deepEqual((await aliceWatch.next()).data, { noteWatch: { action: 'DELETE', data: asGraphQL(privateRow) } });
    // Bob's first results are the note entering his view.
    const bobsNow = asGraphQL({ ...privateRow, owner: bobId });
    assert.deepEqual((await bobActivity.next()).data, { handedActivity: { action: 'CREATE', data: bobsNow } });
    assert.deepEqual((await bobWatch.next()).data, { noteWatch: { action: 'CREATE', data: bobsNow } });
    assert.deepEqual(
      (await execute(aliceClient, '{ notes { id } }')).data!.notes.some((row: { id: string }) => row.id === String(note.id)),
      false,
    );

    aliceActivity.dispose();
    aliceWatch.dispose();
    bobActivity.dispose();
    bobWatch.dispose();
    writer.close();
    await aliceClient.dispose();
    await bobClient.dispose();
  });

  test("an opaque queryset never leaks: other users' rows are not sent; a row leaving it is not announced", async () => {
    const handed = await dcrf(app, '/ws/handed/', alice);
    const a = await dcrf(app, '/ws/opaque/', alice);
    const b = await dcrf(app, '/ws/opaque/', bob);
    assert.equal((await a.request({ action: 'subscribe_many', request_id: 'a-many' })).response_status, 201);
    assert.equal((await b.request({ action: 'subscribe_many', request_id: 'b-many' })).response_status, 201);
    const aliceClient = graphqlClient(app, { token: alice });
    const aliceActivity = await subscribeLive(aliceClient, 'subscription { opaqueActivity { action data { id owner text } } }');

    const bobs = (await b.request({ action: 'create', data: { owner: bobId, text: 'bob opaque' }, request_id: 'b1' })).data;
    assert.deepEqual(await b.next(), event('create', bobs, 'b-many'));
    const alices = (await a.request({ action: 'create', data: { owner: aliceId, text: 'alice opaque' }, request_id: 'a1' })).data;
    assert.deepEqual(await a.next(), event('create', alices, 'a-many'));
    assert.deepEqual((await aliceActivity.next()).data, {
      opaqueActivity: { action: 'CREATE', data: { id: String(alices.id), owner: String(aliceId), text: 'alice opaque' } },
    });

    // Alice's note goes to bob (through the other stream): he sees it as an update (whether it is new
    // to him cannot be known), she hears nothing; her next frame is her own write's.
    assert.equal((await handed.request({ action: 'patch', pk: alices.id, data: { owner: bobId }, request_id: 'h' })).response_status, 200);
    assert.deepEqual(await b.next(), event('update', { ...alices, owner: bobId }, 'b-many'));
    const second = (await a.request({ action: 'create', data: { owner: aliceId, text: 'second' }, request_id: 'a2' })).data;
    assert.deepEqual(await a.next(), event('create', second, 'a-many'));
    assert.deepEqual((await aliceActivity.next()).data!.opaqueActivity.data.text, 'second');

    aliceActivity.dispose();
    await aliceClient.dispose();
    for (const socket of [handed, a, b]) socket.close();
  });
});
