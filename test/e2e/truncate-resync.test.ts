/**
 * A table emptied at once (`TRUNCATE`: the change log holds one `truncate` entry for the model, with a
 * null pk and an empty row) is never silent (docs/positions.md, "A table emptied"), over real sockets:
 * every DCRF subscription of the model gets one `resync` event per request id (205, the reason in
 * `errors`, its `position` when made `since`) and stays subscribed; every GraphQL subscription over the
 * model's rows ends with one RESYNC error (205, the truncate's position), on graphql-transport-ws and
 * legacy graphql-ws; live and replayed alike, whatever the subscriber's row scope.
 *
 * The entry is written as the database's capture writes it (a raw INSERT into the log, under the
 * log's append lock on PostgreSQL); on PostgreSQL a real `TRUNCATE things` is tested too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  action,
  AsyncAPIConsumer,
  BasePermission,
  bindResource,
  buildGraphQLSchema,
  createGraphQLAdapter,
  GenericAsyncAPIConsumer,
  IsAuthenticated,
  ManyObserverMixin,
  modelObserver,
  ObserverModelInstanceMixin,
  Resource,
  type ActionArgs,
  type ActionResult,
  type ConnectionScope,
  type ConsumerClass,
  type Row,
} from '../../src/index.js';
import { TokenAuthenticator } from '../../src/demo/auth.js';
import { Note, User } from '../../src/demo/models.js';
import { NoteSerializer } from '../../src/demo/serializers.js';
import { reply, startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { captureLogs } from '../helpers/hardening.js';
import { logTruncate as appendTruncate } from '../helpers/change-log.js';

const postgres = Boolean(process.env.TEST_DATABASE_URL);

let app: TestApp;
let alice: string;
let bob: string;
before(async () => {
  app = await startTestApp();
  alice = await app.token('alice');
  bob = await app.token('bob');
});
after(async () => {
  await app.close();
});

/** What every subscriber of `model` is told when its table was emptied. */
const reason = (model: string) => `${model} was emptied (TRUNCATE): read again and subscribe since the position of that read.`;

/** The DCRF `resync` event of a request id (with the truncate's position for a subscription made `since`). */
function resyncFrame(model: string, requestId: unknown, position?: string): Record<string, unknown> {
  const frame: Record<string, unknown> = { ...reply('resync', null, 205, requestId, [reason(model)]) };
  if (position !== undefined) frame.position = position;
  return frame;
}

/** A truncate of `model` in the change log (see helpers/change-log.ts), on this file's app by default. */
function logTruncate(model: string, alsoRun?: (trx: TestApp['knex']) => Promise<unknown>, on: TestApp = app): Promise<string> {
  return appendTruncate(on, model, alsoRun);
}

const open = (stream: string, token?: string) =>
  TestSocket.open(`${app.wsUrl}/ws/${stream}/`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });

/** Sends a subscribe and checks its 201; returns the reply's position (made `since`) or undefined. */
async function subscribe(socket: TestSocket, frame: Record<string, unknown>): Promise<string | undefined> {
  const answer = await socket.request(frame);
  assert.equal(answer.response_status, 201, JSON.stringify(answer));
  return answer.data?.position;
}

/** Reads `count` frames and returns them by request id (subscriptions of one socket may be served in any order). */
async function framesByRequest(socket: TestSocket, count: number): Promise<Map<unknown, any>> {
  const byId = new Map<unknown, any>();
  for (let i = 0; i < count; i++) {
    const frame = await socket.next(5000);
    assert.ok(!byId.has(frame.request_id), `one frame per request id, got a second: ${JSON.stringify(frame)}`);
    byId.set(frame.request_id, frame);
  }
  return byId;
}

describe('DCRF: every live subscription of the model gets one resync per request id, and stays subscribed', () => {
  test('things: subscribe_instance, subscribe_many (all, filtered by pk, since latest)', async () => {
    const writer = await open('things');
    const a = (await writer.request({ action: 'create', data: { name: 'a' }, request_id: 1 })).data;
    const socket = await open('things');
    await subscribe(socket, { action: 'subscribe_instance', pk: a.pk, request_id: 'i' });
    await subscribe(socket, { action: 'subscribe_many', request_id: 'm' });
    await subscribe(socket, { action: 'subscribe_many', things: [a.pk], request_id: 'f' });
    assert.equal(typeof (await subscribe(socket, { action: 'subscribe_many', request_id: 's', since: 'latest' })), 'string');
    const other = await open('things_with_id');
    await subscribe(other, { action: 'subscribe_many', request_id: 7 });

    const position = await logTruncate('Thing');
    const frames = await framesByRequest(socket, 4);
    assert.deepEqual(frames.get('i'), resyncFrame('Thing', 'i'));
    assert.deepEqual(frames.get('m'), resyncFrame('Thing', 'm'));
    assert.deepEqual(frames.get('f'), resyncFrame('Thing', 'f'), 'a pk filter does not hide a resync: it concerns every row');
    assert.deepEqual(frames.get('s'), resyncFrame('Thing', 's', position), 'made since: the truncate’s position');
    assert.deepEqual(await other.next(5000), resyncFrame('Thing', 7));
    assert.ok(await socket.quiet(300), 'nothing else: no event made of the empty row');

    // Still subscribed: later changes arrive as before.
    const b = (await writer.request({ action: 'create', data: { name: 'b' }, request_id: 2 })).data;
    const created = await framesByRequest(socket, 2);
    assert.deepEqual(created.get('m'), reply('create', { pk: b.pk, name: 'b', counter: 0 }, 200, 'm'));
    assert.equal(created.get('s').action, 'create');
    await writer.request({ action: 'patch', pk: a.pk, data: { counter: 3 }, request_id: 3 });
    const patched = await framesByRequest(socket, 4);
    assert.deepEqual(patched.get('i'), reply('update', { pk: a.pk, name: 'a', counter: 3 }, 200, 'i'));
    for (const s of [writer, socket, other]) s.close();
  });

  test('model observer and groups (tests subscribe_activity, classrooms by school and by classroom); notes with a row scope', async () => {
    const logs = captureLogs('error');
    try {
      const tests = await open('tests');
      await subscribe(tests, { action: 'subscribe_activity', request_id: 'act' });

      const schools = await open('schools');
      const s1 = (await schools.request({ action: 'create', data: { name: 'resync 1' }, request_id: 1 })).data.id;
      const s2 = (await schools.request({ action: 'create', data: { name: 'resync 2' }, request_id: 2 })).data.id;
      const writer = await open('classrooms');
      const room = (await writer.request({ action: 'create', data: { name: 'r', school: s1 }, request_id: 3 })).data;
      const rooms = await open('classrooms');
      await subscribe(rooms, { action: 'subscribe_to_classrooms_in_school', school_pk: s1, request_id: 'school' });
      await subscribe(rooms, { action: 'subscribe_to_classroom', classroom_pk: room.id, request_id: 'room' });
      const empty = await open('classrooms');
      const since = await subscribe(empty, {
        action: 'subscribe_to_classrooms_in_school',
        school_pk: s2,
        request_id: 'e',
        since: 'latest',
      });
      assert.equal(typeof since, 'string');

      const a = await open('notes', alice);
      const mine = (await a.request({ action: 'create', data: { text: 'mine' }, request_id: 1 })).data;
      await subscribe(a, { action: 'subscribe_many', request_id: 'n' });
      await subscribe(a, { action: 'subscribe_instance', pk: mine.id, request_id: 'ni' });
      const b = await open('notes', bob);
      await subscribe(b, { action: 'subscribe_many', request_id: 'n' });

      const classrooms = await logTruncate('Classroom');
      const grouped = await framesByRequest(rooms, 2);
      assert.deepEqual(grouped.get('school'), resyncFrame('Classroom', 'school'));
      assert.deepEqual(grouped.get('room'), resyncFrame('Classroom', 'room'));
      assert.deepEqual(await empty.next(5000), resyncFrame('Classroom', 'e', classrooms), 'a group with no row is told too');
      assert.ok(await tests.quiet(300), 'another model’s subscribers hear nothing');

      await logTruncate('Test');
      assert.deepEqual(await tests.next(5000), resyncFrame('Test', 'act'));

      await logTruncate('Note');
      const aliceFrames = await framesByRequest(a, 2);
      assert.deepEqual(aliceFrames.get('n'), resyncFrame('Note', 'n'));
      assert.deepEqual(aliceFrames.get('ni'), resyncFrame('Note', 'ni'));
      assert.deepEqual(await b.next(5000), resyncFrame('Note', 'n'), 'bob too: a resync reveals no row, only that the table was emptied');

      for (const socket of [rooms, empty, tests, a, b]) assert.ok(await socket.quiet(200), 'one frame per request id, nothing else');
      // Still subscribed: the groups judge the next change as before.
      const next = (await writer.request({ action: 'create', data: { name: 'r2', school: s1 }, request_id: 4 })).data;
      assert.deepEqual(await rooms.next(5000), reply('create', { id: next.id, name: 'r2', school: s1 }, 200, 'school'));
      for (const socket of [tests, schools, writer, rooms, empty, a, b]) socket.close();
      const failures = logs.lines.filter((line) => line.level === 'error');
      assert.deepEqual(failures, [], 'no handler, group judge or serializer failed on the truncate');
    } finally {
      logs.stop();
    }
  });
});

describe('DCRF: a subscription resumed since a position before the truncate replays it in its place', () => {
  test('subscribe_many and subscribe_instance: the changes before, the resync at its position, the changes after', async () => {
    const writer = await open('things');
    const a = (await writer.request({ action: 'create', data: { name: 'ra' }, request_id: 1 })).data;
    const first = await open('things');
    const p0 = await subscribe(first, { action: 'subscribe_many', request_id: 'm', since: 'latest' });
    first.close();
    await writer.request({ action: 'patch', pk: a.pk, data: { counter: 1 }, request_id: 2 });
    const truncated = await logTruncate('Thing');
    await writer.request({ action: 'patch', pk: a.pk, data: { counter: 2 }, request_id: 3 });

    for (const frame of [
      { action: 'subscribe_many', request_id: 'm', since: p0 },
      { action: 'subscribe_instance', pk: a.pk, request_id: 'i', since: p0 },
    ]) {
      const again = await open('things');
      await subscribe(again, frame);
      const [before, resync, afterwards] = [await again.next(5000), await again.next(5000), await again.next(5000)];
      assert.deepEqual([before.action, before.data.counter, before.request_id], ['update', 1, frame.request_id]);
      assert.deepEqual(resync, resyncFrame('Thing', frame.request_id, truncated), `${frame.action}: the resync in its place`);
      assert.deepEqual([afterwards.action, afterwards.data.counter], ['update', 2]);
      assert.ok(await again.quiet(200), 'each once');
      again.close();
    }
    writer.close();
  });

  test('a group subscription and a model observer resumed since before the truncate get it too', async () => {
    const schools = await open('schools');
    const s1 = (await schools.request({ action: 'create', data: { name: 'resume resync' }, request_id: 1 })).data.id;
    const first = await open('classrooms');
    const p0 = await subscribe(first, { action: 'subscribe_to_classrooms_in_school', school_pk: s1, request_id: 'g', since: 'latest' });
    const tests = await open('tests');
    const t0 = await subscribe(tests, { action: 'subscribe_activity', request_id: 'act', since: 'latest' });
    first.close();
    tests.close();
    const classroomTruncate = await logTruncate('Classroom');
    const testTruncate = await logTruncate('Test');

    const again = await open('classrooms');
    await subscribe(again, { action: 'subscribe_to_classrooms_in_school', school_pk: s1, request_id: 'g', since: p0 });
    assert.deepEqual(await again.next(5000), resyncFrame('Classroom', 'g', classroomTruncate));
    const tests2 = await open('tests');
    await subscribe(tests2, { action: 'subscribe_activity', request_id: 'act', since: t0 });
    assert.deepEqual(await tests2.next(5000), resyncFrame('Test', 'act', testTruncate));
    for (const socket of [schools, again, tests2]) socket.close();
  });

  test('subscribe_instance since before the truncate of a row gone since: 201, and the replay ends with the resync', async () => {
    const tests = await open('tests');
    const row = (await tests.request({ action: 'create', data: { name: 'gone' }, request_id: 1 })).data;
    const p0 = await subscribe(tests, { action: 'subscribe_activity', request_id: 'act', since: 'latest' });
    // The table emptied outside the ORM, as a TRUNCATE does (the `tests` table's writes are captured by the ORM only).
    const truncated = await logTruncate('Test', (trx) => trx('tests').delete());
    assert.deepEqual(await tests.next(5000), resyncFrame('Test', 'act', truncated));
    const answer = await tests.request({ action: 'subscribe_instance', pk: row.id, request_id: 'i', since: p0 });
    assert.deepEqual(answer, { ...reply('subscribe_instance', { position: answer.data?.position }, 201, 'i') });
    assert.deepEqual(await tests.next(5000), resyncFrame('Test', 'i', truncated));
    // A row that was never there, with no truncate after the position: still 404.
    const later = await subscribe(tests, { action: 'subscribe_activity', request_id: 'act2', since: 'latest' });
    const missing = await tests.request({ action: 'subscribe_instance', pk: row.id, request_id: 'j', since: later });
    assert.equal(missing.response_status, 404);
    tests.close();
  });
});

type Protocol = 'graphql-transport-ws' | 'graphql-ws';
const PROTOCOLS: readonly Protocol[] = ['graphql-transport-ws', 'graphql-ws'];

/**
 * A GraphQL socket on either protocol, past its handshake: operations by id, and the messages of the
 * other operations kept in order while one waits for its own (the legacy keep-alive is skipped).
 */
class GraphQLSocket {
  private readonly kept: any[] = [];
  private operations = 0;

  private constructor(
    readonly socket: TestSocket,
    readonly protocol: Protocol,
  ) {}

  static async open(protocol: Protocol, token?: string): Promise<GraphQLSocket> {
    const query = token ? `?token=${encodeURIComponent(token)}` : '';
    const socket = await TestSocket.open(`${app.wsUrl}/graphql${query}`, { protocols: [protocol] });
    socket.send({ type: 'connection_init', payload: {} });
    assert.equal((await socket.next()).type, 'connection_ack');
    return new GraphQLSocket(socket, protocol);
  }

  /** Sends operation `id`. */
  send(id: string, query: string, variables?: Record<string, unknown>): void {
    this.socket.send({ id, type: this.protocol === 'graphql-ws' ? 'start' : 'subscribe', payload: { query, variables } });
  }

  /** The next message of any operation. */
  async next(timeoutMs = 5000): Promise<any> {
    if (this.kept.length) return this.kept.shift();
    return this.fromSocket(timeoutMs);
  }

  private async fromSocket(timeoutMs: number): Promise<any> {
    for (;;) {
      const message = await this.socket.next(timeoutMs);
      if (message.type !== 'ka') return message;
    }
  }

  /** Runs a query or mutation; returns its data (other operations' messages are kept for `next`). */
  async run(query: string, variables?: Record<string, unknown>): Promise<any> {
    const id = `q${++this.operations}`;
    this.send(id, query, variables);
    let data: any;
    for (;;) {
      const message = await this.fromSocket(5000);
      if (message.id !== id) {
        this.kept.push(message);
        continue;
      }
      if (message.type === 'complete') return data;
      assert.equal(message.payload.errors, undefined, JSON.stringify(message));
      data = message.payload.data;
    }
  }

  /**
   * Starts subscription `id` and waits until it is live: the server handles a socket's messages in
   * order, once the subscriptions before them are live, so a query answered after it proves it.
   */
  async start(id: string, query: string, variables?: Record<string, unknown>): Promise<void> {
    this.send(id, query, variables);
    await this.run('{ __typename }');
    const refused = this.kept.find((message) => message.id === id && message.type === 'error');
    assert.equal(refused, undefined, JSON.stringify(refused));
  }

  /** True when no message comes within `ms`. */
  async quiet(ms = 200): Promise<boolean> {
    return this.kept.length === 0 && (await this.socket.quiet(ms));
  }

  close(): void {
    this.socket.close();
  }
}

/** Checks that `message` ends operation `id` with the RESYNC error of `model` at `position`. */
function assertResync(message: any, id: string, model: string, position: string): void {
  assert.equal(message.type, 'error', JSON.stringify(message));
  assert.equal(message.id, id);
  assert.deepEqual(message.payload, [{ message: reason(model), extensions: { code: 'RESYNC', status: 205, position } }]);
}

for (const protocol of PROTOCOLS) {
  describe(`GraphQL (${protocol}): a subscription over the model's rows ends with one RESYNC error`, () => {
    test('live: thingChanged, thingActivity, classroomActivity by school, noteActivity (row scope); then re-read and subscribe after', async () => {
      const socket = await GraphQLSocket.open(protocol, alice);
      const a = (await socket.run('mutation { createThing(input: {name: "g"}) { id } }')).createThing.id;
      const school = (await socket.run('mutation { createSchool(input: {name: "gs"}) { id } }')).createSchool.id;
      await socket.start('changed', 'subscription($id: ID!) { thingChanged(id: $id) { action } }', { id: a });
      await socket.start('activity', 'subscription { thingActivity { action data { id } } }');
      await socket.start('since', 'subscription { thingActivity(after: "latest") { action position } }');
      await socket.start('rooms', 'subscription($s: ID) { classroomActivity(schoolId: $s) { action } }', { s: school });
      await socket.start('notes', 'subscription { noteActivity { action } }');
      const other = await GraphQLSocket.open(protocol, bob);
      await other.start('notes', 'subscription { noteActivity { action } }');

      const thing = await logTruncate('Thing');
      const ended = new Map<string, any>();
      for (let i = 0; i < 3; i++) {
        const message = await socket.next();
        ended.set(message.id, message);
      }
      for (const id of ['changed', 'activity', 'since']) assertResync(ended.get(id), id, 'Thing', thing);
      const classroom = await logTruncate('Classroom');
      assertResync(await socket.next(), 'rooms', 'Classroom', classroom);
      const note = await logTruncate('Note');
      assertResync(await socket.next(), 'notes', 'Note', note);
      assertResync(await other.next(), 'notes', 'Note', note);
      assert.ok(await socket.quiet(200), 'one error per operation, no `complete` after it, no event of the empty row');

      // The recipe: read again with the head, subscribe after it; later changes arrive.
      const read = await socket.run('{ changePosition things { id } }');
      await socket.start('again', 'subscription($p: String) { thingActivity(after: $p) { action data { name } } }', {
        p: read.changePosition,
      });
      await socket.run('mutation { createThing(input: {name: "after"}) { id } }');
      const event = await socket.next();
      assert.equal(event.id, 'again', JSON.stringify(event));
      assert.deepEqual(event.payload.data.thingActivity, { action: 'CREATE', data: { name: 'after' } });
      socket.close();
      other.close();
    });

    test('replayed: subscribed after a position before the truncate, the events before it, then RESYNC at its position', async () => {
      const socket = await GraphQLSocket.open(protocol);
      const p0 = (await socket.run('{ changePosition }')).changePosition;
      await socket.start('warm', 'subscription { thingActivity { action } }');
      const x = (await socket.run('mutation { createThing(input: {name: "before"}) { id } }')).createThing.id;
      assert.equal((await socket.next()).payload.data.thingActivity.action, 'CREATE');
      const truncated = await logTruncate('Thing');
      assertResync(await socket.next(), 'warm', 'Thing', truncated);
      await socket.run('mutation { createThing(input: {name: "later"}) { id } }');

      socket.send('r', 'subscription($p: String) { thingActivity(after: $p) { action data { id name } } }', { p: p0 });
      const first = await socket.next();
      assert.equal(first.id, 'r', JSON.stringify(first));
      assert.deepEqual(first.payload.data.thingActivity, { action: 'CREATE', data: { id: x, name: 'before' } });
      assertResync(await socket.next(), 'r', 'Thing', truncated);
      assert.ok(await socket.quiet(300), 'ended at the truncate: nothing after it');

      socket.send('ri', 'subscription($id: ID!, $p: String) { thingChanged(id: $id, after: $p) { action } }', { id: x, p: p0 });
      const created = await socket.next();
      assert.deepEqual([created.id, created.payload.data.thingChanged], ['ri', { action: 'CREATE' }]);
      assertResync(await socket.next(), 'ri', 'Thing', truncated);
      socket.close();
    });
  });
}

describe('an object permission that refuses every row not the caller’s lets the resync through', () => {
  /** DRF's "IsOwner": it would refuse the truncate's empty row, so the resync must not be judged by it. */
  class IsOwner extends BasePermission {
    override hasObjectPermission(scope: ConnectionScope, note: Row): boolean {
      return scope.user != null && String(note.owner) === String(scope.user.id);
    }
  }
  const ownNotes = new Resource({ model: Note, serializer: NoteSerializer, permissions: [IsAuthenticated, IsOwner], name: 'own_notes' });
  /** The rule on the resource and, as a permission of its own, on the consumer (its events pass both). */
  class OwnNotes extends ManyObserverMixin(ObserverModelInstanceMixin(GenericAsyncAPIConsumer)) {
    static override resource = ownNotes;
    static override permissionClasses = [IsAuthenticated, IsOwner];
  }
  /**
   * A model observer with a handler of its own, whose subscription joins two groups every note is in:
   * a change reaches the request id through both; the resync once, and never through the handler.
   */
  const watched = modelObserver<NoteWatch>(Note, {
    name: 'note_watch',
    groupsForSignal: () => ['all', 'mine'],
    groupsForConsumer: () => ['all', 'mine'],
    handler: (consumer, event) => consumer.sendJson({ custom: event.action, request_ids: event.subscribingRequestIds }),
  });
  class NoteWatch extends AsyncAPIConsumer {
    @action({ args: ['request_id'] })
    async watch(args: ActionArgs): Promise<ActionResult> {
      await watched.subscribe(this, args, args.request_id);
      return [null, 201];
    }
  }
  let owned: TestApp;

  before(async () => {
    const schema = buildGraphQLSchema({
      typeDefs: `
        type Note { id: ID! text: String! }
        type NoteEvent { action: String! position: String data: Note! }
        type Query { ownNote(id: ID!): Note }
        type Subscription { ownNoteActivity: NoteEvent! }
      `,
      resolvers: [bindResource(ownNotes, { get: 'ownNote', activity: 'ownNoteActivity' })],
    });
    owned = await startTestApp({
      gateway: {
        streams: { own_notes: OwnNotes as unknown as ConsumerClass, note_watch: NoteWatch },
        graphql: createGraphQLAdapter({ schema, authenticator: new TokenAuthenticator() }),
      },
    });
  });
  after(async () => {
    await owned.close();
  });

  test('DCRF subscribe_many and subscribe_instance get the resync; the GraphQL subscription ends with RESYNC', async () => {
    const token = await owned.token('alice');
    const aliceId = (await User.query().findOne({ username: 'alice' }))!.id;
    const note = await Note.query().insert({ text: 'kept', owner: aliceId });
    const socket = await TestSocket.open(`${owned.wsUrl}/ws/own_notes/`, { headers: { Authorization: `Bearer ${token}` } });
    await subscribe(socket, { action: 'subscribe_many', request_id: 'm' });
    await subscribe(socket, { action: 'subscribe_instance', pk: note.id, request_id: 'i' });
    const graphql = await TestSocket.open(`${owned.wsUrl}/graphql?token=${token}`, { protocols: ['graphql-transport-ws'] });
    assert.equal((await graphql.request({ type: 'connection_init' })).type, 'connection_ack');
    graphql.send({ id: 'a', type: 'subscribe', payload: { query: 'subscription { ownNoteActivity { action } }' } });
    assert.equal((await graphql.request({ id: 'p', type: 'subscribe', payload: { query: '{ __typename }' } })).id, 'p');

    const position = await logTruncate('Note', undefined, owned);
    const frames = await framesByRequest(socket, 2);
    assert.deepEqual(frames.get('m'), resyncFrame('Note', 'm'));
    assert.deepEqual(frames.get('i'), resyncFrame('Note', 'i'));
    let ended: any;
    do ended = await graphql.next(5000);
    while (ended.id !== 'a');
    assertResync(ended, 'a', 'Note', position);
    socket.close();
    graphql.close();
  });

  test('a model observer with its own handler, one request id in two groups: one resync frame, not the handler', async () => {
    const socket = await TestSocket.open(`${owned.wsUrl}/ws/note_watch/`);
    await subscribe(socket, { action: 'watch', request_id: 'w' });
    await owned.token('alice');
    const owner = (await User.query().findOne({ username: 'alice' }))!.id;
    await Note.query().insert({ text: 'seen', owner });
    // A change is the handler's, once per group the request id joined.
    for (let i = 0; i < 2; i++) assert.deepEqual(await socket.next(5000), { custom: 'create', request_ids: ['w'] });
    await logTruncate('Note', undefined, owned);
    assert.deepEqual(await socket.next(5000), resyncFrame('Note', 'w'));
    assert.ok(await socket.quiet(300), 'one resync for the request id, whatever the groups it joined');
    socket.close();
  });
});

describe('PostgreSQL: a real TRUNCATE', { skip: postgres ? false : 'TRUNCATE is PostgreSQL’s (SQLite has none)' }, () => {
  test('TRUNCATE things: DCRF subscribers get the resync, GraphQL subscriptions end with RESYNC; both stay usable', async () => {
    const writer = await open('things');
    await writer.request({ action: 'create', data: { name: 'doomed' }, request_id: 1 });
    const many = await open('things');
    await subscribe(many, { action: 'subscribe_many', request_id: 'm' });
    const socket = await GraphQLSocket.open('graphql-transport-ws');
    await socket.start('activity', 'subscription { thingActivity { action } }');

    await app.knex.raw('truncate table things');
    app.runtime.hub.catchUp();
    assert.deepEqual(await many.next(5000), resyncFrame('Thing', 'm'));
    const error = await socket.next();
    assert.equal(error.payload[0]?.extensions?.code, 'RESYNC', JSON.stringify(error));
    assert.equal(typeof error.payload[0].extensions.position, 'string');

    const listed = await writer.request({ action: 'list', request_id: 2 });
    assert.deepEqual(listed.data, [], 'read again: the table is empty');
    await writer.request({ action: 'create', data: { name: 'reborn' }, request_id: 3 });
    assert.equal((await many.next(5000)).action, 'create');
    for (const s of [writer, many, socket]) s.close();
  });
});
