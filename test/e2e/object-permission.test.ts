/**
 * Object-level permission (issue 17), DRF's `has_object_permission`: a permission's
 * `hasObjectPermission(scope, object, action)` judges the row an operation already read, on DCRF and
 * GraphQL alike: retrieve, update, patch, delete, subscribe_instance and a consumer's `getObject` answer
 * 403 with DRF's message (GraphQL FORBIDDEN / 403), and a subscription is never sent an event about a
 * row the rule refuses. The rule here is "owner only" on notes nobody's row scope narrows, so every
 * refusal below comes from the object rule alone. `CurrentUserDefault` sets the owner on create, over
 * both protocols.
 *
 * "Nothing arrives" is shown by order: a subscriber's events come in commit order, so when the next
 * event carries the state of a later write, the writes in between were not sent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  action,
  anyOf,
  BasePermission,
  bindResource,
  buildGraphQLSchema,
  CharField,
  createGraphQLAdapter,
  CreateModelMixin,
  CurrentUserDefault,
  DeleteModelMixin,
  GenericAsyncAPIConsumer,
  HiddenField,
  IsAuthenticated,
  ListModelMixin,
  ManyObserverMixin,
  ObserverModelInstanceMixin,
  PatchModelMixin,
  ReadOnlyField,
  Resource,
  RetrieveModelMixin,
  Serializer,
  UpdateModelMixin,
  type ActionArgs,
  type ActionResult,
  type ConnectionScope,
  type ConsumerClass,
  type Row,
} from '../../src/index.js';
import { TokenAuthenticator } from '../../src/demo/auth.js';
import { Note, User } from '../../src/demo/models.js';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { execute, graphqlClient, post, subscribeLive } from '../helpers/graphql.js';

const DENIED = 'You do not have permission to perform this action.';

/** DRF's "IsOwner": a note's `owner` must be the caller. */
class IsOwner extends BasePermission {
  override hasObjectPermission(scope: ConnectionScope, note: Row): boolean {
    return scope.user != null && String(note.owner) === String(scope.user.id);
  }
}

/** The owner is never read from input: the caller, by `CurrentUserDefault`; shown as `owner_id`. */
class OwnNoteSerializer extends Serializer {
  static override fields = {
    id: new ReadOnlyField(),
    text: new CharField({ maxLength: 500 }),
    owner: new HiddenField({ default: new CurrentUserDefault() }),
    owner_id: new ReadOnlyField({ source: 'owner' }),
  };
}

const ownNotes = new Resource({ model: Note, serializer: OwnNoteSerializer, permissions: [IsAuthenticated, IsOwner], name: 'own_notes' });

/** The rule on a shared resource: every mixin action and subscription. */
class OwnNoteConsumer extends ManyObserverMixin(
  ObserverModelInstanceMixin(
    DeleteModelMixin(PatchModelMixin(UpdateModelMixin(CreateModelMixin(RetrieveModelMixin(ListModelMixin(GenericAsyncAPIConsumer)))))),
  ),
) {
  static override resource = ownNotes;
}

/** The rule on the consumer itself, and an action of its own that reads the row with `getObject`. */
class NoteDeskConsumer extends RetrieveModelMixin(GenericAsyncAPIConsumer) {
  static override queryset = Note;
  static override serializerClass = OwnNoteSerializer;
  static override permissionClasses = [IsAuthenticated, IsOwner];

  @action({ args: ['pk'] })
  async shout(args: ActionArgs): Promise<ActionResult> {
    const note = await this.getObject(args);
    return [{ text: String(note.text).toUpperCase() }, 200];
  }
}

/** Staff may act on any note (no object rule of its own). */
class IsStaff extends BasePermission {
  override hasPermission(scope: ConnectionScope): boolean {
    return scope.user?.username === 'carol';
  }
}

/** Staff, or the owner: as DRF's `IsStaff | IsOwner`, one permission must allow both the action and the row. */
class StaffOrOwnerConsumer extends RetrieveModelMixin(GenericAsyncAPIConsumer) {
  static override queryset = Note;
  static override serializerClass = OwnNoteSerializer;
  static override permissionClasses = [IsAuthenticated, anyOf(IsStaff, IsOwner)];
}

const typeDefs = `
  type Note { id: ID! text: String! owner_id: ID }
  type NoteEvent { action: String! position: String data: Note! }
  input NoteInput { text: String }
  type Query { ownNote(id: ID!): Note }
  type Mutation {
    createOwnNote(input: NoteInput!): Note!
    updateOwnNote(id: ID!, input: NoteInput!): Note!
    patchOwnNote(id: ID!, input: NoteInput!): Note!
    deleteOwnNote(id: ID!): ID!
  }
  type Subscription { ownNoteChanged(id: ID!): NoteEvent! }
`;

/** A DCRF socket on `/ws/<stream>/` as the user of `token`. */
function dcrf(app: TestApp, stream: string, token: string): Promise<TestSocket> {
  return TestSocket.open(`${app.wsUrl}/ws/${stream}/`, { headers: { Authorization: `Bearer ${token}` } });
}

/** A legacy graphql-ws socket as the user of `token`, acknowledged. */
async function legacySocket(app: TestApp, token: string): Promise<TestSocket> {
  const socket = await TestSocket.open(`${app.wsUrl}/graphql?token=${token}`, { protocols: ['graphql-ws'] });
  assert.deepEqual(await socket.request({ type: 'connection_init' }), { type: 'connection_ack' });
  return socket;
}

/** The next legacy frame of operation `id` (keep-alives and other operations' frames skipped). */
async function legacyFrame(socket: TestSocket, id: string): Promise<any> {
  for (;;) {
    const frame = await socket.next();
    if (frame.id === id) return frame;
  }
}

/** Moves a note to another owner, or rewrites its text, as a job would: an ORM write, one event. */
async function rewrite(id: number, values: { owner?: number; text?: string }): Promise<void> {
  await Note.query().patch(values).where('id', id);
}

describe('object permission: owner only, on DCRF and GraphQL', () => {
  let app: TestApp;
  let alice: string;
  let bob: string;
  let aliceId: number;
  let bobId: number;

  before(async () => {
    const authenticator = new TokenAuthenticator();
    const schema = buildGraphQLSchema({
      typeDefs,
      resolvers: [
        bindResource(ownNotes, {
          get: 'ownNote',
          create: 'createOwnNote',
          update: 'updateOwnNote',
          patch: 'patchOwnNote',
          delete: 'deleteOwnNote',
          changed: 'ownNoteChanged',
        }),
      ],
    });
    app = await startTestApp({
      gateway: {
        streams: {
          own_notes: OwnNoteConsumer as unknown as ConsumerClass,
          desk: NoteDeskConsumer as unknown as ConsumerClass,
          staff_or_owner: StaffOrOwnerConsumer as unknown as ConsumerClass,
        },
        graphql: createGraphQLAdapter({ schema, authenticator }),
      },
    });
    alice = await app.token('alice');
    bob = await app.token('bob');
    aliceId = (await User.query().findOne({ username: 'alice' }))!.id as number;
    bobId = (await User.query().findOne({ username: 'bob' }))!.id as number;
  });
  after(async () => {
    await app.close();
  });

  test('DCRF: the owner is served; another user gets 403 on retrieve, update, patch, delete, subscribe_instance and getObject', async () => {
    const a = await dcrf(app, 'own_notes', alice);
    const created = await a.request({ action: 'create', data: { text: 'alice note', owner: 999 }, request_id: 'c' });
    // CurrentUserDefault over DCRF: the caller owns it, whatever the client sent.
    assert.deepEqual(created, reply('create', { id: created.data.id, text: 'alice note', owner_id: aliceId }, 201, 'c'));
    const pk = created.data.id as number;
    assert.deepEqual(
      await a.request({ action: 'retrieve', pk, request_id: 'r' }),
      reply('retrieve', { id: pk, text: 'alice note', owner_id: aliceId }, 200, 'r'),
    );

    const b = await dcrf(app, 'own_notes', bob);
    for (const [name, frame] of Object.entries({
      retrieve: { pk },
      update: { pk, data: { text: 'bob was here' } },
      patch: { pk, data: { text: 'bob was here' } },
      delete: { pk },
      subscribe_instance: { pk },
    })) {
      assert.deepEqual(await b.request({ action: name, ...frame, request_id: name }), reply(name, null, 403, name, [DENIED]), name);
    }
    // Refused before validation: invalid data is still a 403, never a 400 that tells the field rules.
    assert.deepEqual(
      await b.request({ action: 'patch', pk, data: { text: 'x'.repeat(600) }, request_id: 'p' }),
      reply('patch', null, 403, 'p', [DENIED]),
    );
    assert.equal((await Note.query().findById(pk))!.text, 'alice note');

    // The rule on the consumer itself, and an action of its own through getObject.
    const deskBob = await dcrf(app, 'desk', bob);
    assert.deepEqual(await deskBob.request({ action: 'shout', pk, request_id: 's' }), reply('shout', null, 403, 's', [DENIED]));
    assert.deepEqual(await deskBob.request({ action: 'retrieve', pk, request_id: 'r' }), reply('retrieve', null, 403, 'r', [DENIED]));
    const deskAlice = await dcrf(app, 'desk', alice);
    assert.deepEqual(await deskAlice.request({ action: 'shout', pk, request_id: 's' }), reply('shout', { text: 'ALICE NOTE' }, 200, 's'));

    // The owner may write and delete it.
    assert.deepEqual(
      await a.request({ action: 'patch', pk, data: { text: 'edited' }, request_id: 'p' }),
      reply('patch', { id: pk, text: 'edited', owner_id: aliceId }, 200, 'p'),
    );
    assert.deepEqual(await a.request({ action: 'delete', pk, request_id: 'd' }), reply('delete', null, 204, 'd'));
    for (const socket of [a, b, deskBob, deskAlice]) socket.close();
  });

  test('anyOf(IsStaff, IsOwner): staff may read any row, another user only their own (DRF 3.14 OR)', async () => {
    const carol = await app.token('carol');
    const note = await Note.query().insert({ owner: aliceId, text: 'for staff' });
    const asStaff = await dcrf(app, 'staff_or_owner', carol);
    const asOwner = await dcrf(app, 'staff_or_owner', alice);
    const asOther = await dcrf(app, 'staff_or_owner', bob);
    const row = { id: note.id, text: 'for staff', owner_id: aliceId };
    assert.deepEqual(await asStaff.request({ action: 'retrieve', pk: note.id, request_id: 1 }), reply('retrieve', row, 200, 1));
    assert.deepEqual(await asOwner.request({ action: 'retrieve', pk: note.id, request_id: 1 }), reply('retrieve', row, 200, 1));
    assert.deepEqual(await asOther.request({ action: 'retrieve', pk: note.id, request_id: 1 }), reply('retrieve', null, 403, 1, [DENIED]));
    for (const socket of [asStaff, asOwner, asOther]) socket.close();
  });

  test('DCRF events: a subscriber hears nothing of a row while the rule refuses it (subscribe_instance and subscribe_many)', async () => {
    const b = await dcrf(app, 'own_notes', bob);
    const mine = (await b.request({ action: 'create', data: { text: 'bob note' }, request_id: 'c' })).data;
    assert.equal(mine.owner_id, bobId);
    assert.deepEqual(
      await b.request({ action: 'subscribe_instance', pk: mine.id, request_id: 'one' }),
      reply('subscribe_instance', null, 201, 'one'),
    );
    assert.deepEqual(await b.request({ action: 'subscribe_many', request_id: 'many' }), reply('subscribe_many', null, 201, 'many'));

    // Alice's own note, and bob's note while it is alice's: refused for bob, so never sent.
    const a = await dcrf(app, 'own_notes', alice);
    assert.equal((await a.request({ action: 'create', data: { text: 'alice only' }, request_id: 'c' })).response_status, 201);
    await rewrite(mine.id, { owner: aliceId });
    await rewrite(mine.id, { text: 'alice wrote this' });
    await rewrite(mine.id, { owner: bobId, text: 'back to bob' });

    // The next two frames are the last write's, on each subscription: nothing of the writes before it.
    const frames = [await b.next(), await b.next()].sort((x, y) => String(x.request_id).localeCompare(String(y.request_id)));
    const back = { id: mine.id, text: 'back to bob', owner_id: bobId };
    assert.deepEqual(frames, [
      { errors: [], data: back, action: 'update', response_status: 200, request_id: 'many' },
      { errors: [], data: back, action: 'update', response_status: 200, request_id: 'one' },
    ]);
    a.close();
    b.close();
  });

  test('GraphQL: FORBIDDEN (403) on get, update, patch, delete and a changed subscription of another user’s row; no event while refused', async () => {
    const asAlice = { Authorization: `Bearer ${alice}` };
    const asBob = { Authorization: `Bearer ${bob}` };
    const created = await post(app, 'mutation { createOwnNote(input: {text: "alice gql"}) { id text owner_id } }', undefined, asAlice);
    const note = created.body.data.createOwnNote;
    // CurrentUserDefault over GraphQL.
    assert.deepEqual(note, { id: note.id, text: 'alice gql', owner_id: String(aliceId) });
    assert.deepEqual((await post(app, `{ ownNote(id: "${note.id}") { text } }`, undefined, asAlice)).body.data, {
      ownNote: { text: 'alice gql' },
    });

    for (const operation of [
      `{ ownNote(id: "${note.id}") { text } }`,
      `mutation { updateOwnNote(id: "${note.id}", input: {text: "bob"}) { id } }`,
      `mutation { patchOwnNote(id: "${note.id}", input: {text: "bob"}) { id } }`,
      `mutation { deleteOwnNote(id: "${note.id}") }`,
    ]) {
      const answer = await post(app, operation, undefined, asBob);
      assert.deepEqual(
        answer.body.errors.map((error: any) => ({ message: error.message, extensions: error.extensions })),
        [{ message: DENIED, extensions: { code: 'FORBIDDEN', status: 403 } }],
        operation,
      );
    }
    assert.equal((await Note.query().findById(Number(note.id)))!.text, 'alice gql');

    // A subscription to another user's row is refused at once, on both WebSocket protocols.
    const bobClient = graphqlClient(app, { token: bob });
    const refused = await execute(bobClient, `subscription { ownNoteChanged(id: "${note.id}") { action } }`);
    assert.deepEqual(
      refused.errors?.map((error) => error.extensions),
      [{ code: 'FORBIDDEN', status: 403 }],
    );
    const legacy = await legacySocket(app, bob);
    legacy.send({ id: 'x', type: 'start', payload: { query: `subscription { ownNoteChanged(id: "${note.id}") { action } }` } });
    const legacyRefusal = await legacyFrame(legacy, 'x');
    const legacyErrors = legacyRefusal.type === 'error' ? [legacyRefusal.payload].flat() : legacyRefusal.payload.errors;
    assert.deepEqual(
      legacyErrors.map((error: any) => error.extensions),
      [{ code: 'FORBIDDEN', status: 403 }],
      JSON.stringify(legacyRefusal),
    );

    // Bob's own row: his subscriptions hear of it, except while it is alice's.
    const mine = (await post(app, 'mutation { createOwnNote(input: {text: "bob gql"}) { id owner_id } }', undefined, asBob)).body.data
      .createOwnNote;
    assert.equal(mine.owner_id, String(bobId));
    const selection = `subscription { ownNoteChanged(id: "${mine.id}") { action data { text owner_id } } }`;
    const live = await subscribeLive(bobClient, selection);
    legacy.send({ id: 'live', type: 'start', payload: { query: selection } });
    legacy.send({ id: 'q', type: 'start', payload: { query: '{ __typename }' } });
    assert.equal((await legacyFrame(legacy, 'q')).type, 'data');

    await rewrite(Number(mine.id), { owner: aliceId });
    await rewrite(Number(mine.id), { text: 'alice wrote this' });
    await rewrite(Number(mine.id), { owner: bobId, text: 'back to bob' });
    const back = { ownNoteChanged: { action: 'UPDATE', data: { text: 'back to bob', owner_id: String(bobId) } } };
    assert.deepEqual((await live.next()).data, back);
    assert.deepEqual(await legacyFrame(legacy, 'live'), { id: 'live', type: 'data', payload: { data: back } });

    live.dispose();
    legacy.close();
    await bobClient.dispose();
  });
});
