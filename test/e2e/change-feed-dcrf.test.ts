/**
 * The change feed over DCRF (docs/positions.md, "DCRF"), over real sockets: every subscription kind of the
 * demo resumes `since` a position (a client subscribes, disconnects, writes happen, it resubscribes
 * and gets exactly the missed events in commit order, then live ones, nothing twice), reads anchor a
 * later subscribe with `with_position`, and refused positions answer 400 / 410.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { action, type ActionArgs } from '../../src/dcrf/actions.js';
import { AsyncAPIConsumer } from '../../src/dcrf/consumer.js';
import { modelObserver, type ObservedEvent } from '../../src/dcrf/observers.js';
import type { ActionResult } from '../../src/dcrf/protocol.js';
import { Thing } from '../../src/demo/models.js';
import { DcrfCommunicator } from '../../src/testing.js';

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

const open = (stream: string, token?: string) =>
  TestSocket.open(`${app.wsUrl}/ws/${stream}/`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });

const EXPIRED = 'Position expired: read again and subscribe since the position of that read.';

/** A subscribe made `since`: 201 with `data: {position}`; returns the position. */
async function subscribeSince(socket: TestSocket, frame: Record<string, unknown>): Promise<string> {
  const answer = await socket.request(frame);
  assert.equal(answer.response_status, 201, JSON.stringify(answer));
  assert.deepEqual(Object.keys(answer.data), ['position']);
  assert.equal(typeof answer.data.position, 'string');
  assert.ok(answer.data.position.length > 0 && answer.data.position.length <= 64);
  return answer.data.position;
}

/** An event of a subscription made `since`: the DCRF envelope plus a top-level `position`; returns it. */
function positionedEvent(frame: any, action: string, data: unknown, status: number, requestId: unknown): string {
  const { position, ...envelope } = frame;
  assert.deepEqual(envelope, reply(action, data, status, requestId));
  assert.equal(typeof position, 'string', 'the event carries its position');
  return position;
}

/** Reads `count` positioned events, checks them against `expected` in order and that no position repeats. */
async function expectEvents(socket: TestSocket, expected: Array<[string, unknown, number]>, requestId: unknown): Promise<string[]> {
  const positions: string[] = [];
  for (const [action, data, status] of expected) positions.push(positionedEvent(await socket.next(), action, data, status, requestId));
  assert.equal(new Set(positions).size, positions.length, 'no position twice');
  return positions;
}

describe('resume since a position, every subscription kind', () => {
  test('things subscribe_many: the missed creates, updates and deletes in commit order, then live ones; nothing twice', async () => {
    const writer = await open('things');
    const kept = (await writer.request({ action: 'create', data: { name: 'kept' }, request_id: 1 })).data;
    const first = await open('things');
    const p0 = await subscribeSince(first, { action: 'subscribe_many', request_id: 'm', since: 'latest' });
    first.close();

    const x = (await writer.request({ action: 'create', data: { name: 'x' }, request_id: 2 })).data;
    await writer.request({ action: 'patch', pk: x.pk, data: { counter: 5 }, request_id: 3 });
    await writer.request({ action: 'patch', pk: kept.pk, data: { name: 'kept2' }, request_id: 4 });
    await writer.request({ action: 'delete', pk: x.pk, request_id: 5 });

    const again = await open('things');
    await subscribeSince(again, { action: 'subscribe_many', request_id: 'm', since: p0 });
    const replayed = await expectEvents(
      again,
      [
        ['create', { pk: x.pk, name: 'x', counter: 0 }, 200],
        ['update', { pk: x.pk, name: 'x', counter: 5 }, 200],
        ['update', { pk: kept.pk, name: 'kept2', counter: 0 }, 200],
        ['delete', { pk: x.pk, name: 'x', counter: 5 }, 204],
      ],
      'm',
    );
    await writer.request({ action: 'patch', pk: kept.pk, data: { counter: 1 }, request_id: 6 });
    const live = positionedEvent(await again.next(), 'update', { pk: kept.pk, name: 'kept2', counter: 1 }, 200, 'm');
    assert.ok(!replayed.includes(live));
    assert.ok(await again.quiet(), 'nothing twice, nothing more');

    // Resuming from the last position seen replays nothing.
    const third = await open('things');
    await subscribeSince(third, { action: 'subscribe_many', request_id: 'm', since: live });
    assert.ok(await third.quiet(), 'nothing after the last position');
    for (const socket of [writer, again, third]) socket.close();
  });

  test('subscribe_many without since: exactly today’s frames (no position anywhere)', async () => {
    const socket = await open('things');
    assert.deepEqual(await socket.request({ action: 'subscribe_many', request_id: 'plain' }), reply('subscribe_many', null, 201, 'plain'));
    const row = (await socket.request({ action: 'create', data: { name: 'plain' }, request_id: 1 })).data;
    assert.deepEqual(await socket.next(), reply('create', row, 200, 'plain'));
    assert.deepEqual(await socket.request({ action: 'list', request_id: 2 }).then((frame) => 'position' in frame), false);
    socket.close();
  });

  test('subscribe_instance: the missed updates and the delete of a row gone since; a row that never was is 404', async () => {
    const writer = await open('things');
    const row = (await writer.request({ action: 'create', data: { name: 'inst' }, request_id: 1 })).data;
    const first = await open('things');
    const p0 = await subscribeSince(first, { action: 'subscribe_instance', pk: row.pk, request_id: 'i', since: 'latest' });
    first.close();
    await writer.request({ action: 'patch', pk: row.pk, data: { counter: 1 }, request_id: 2 });
    await writer.request({ action: 'patch', pk: row.pk, data: { counter: 2 }, request_id: 3 });
    await writer.request({ action: 'delete', pk: row.pk, request_id: 4 });

    const again = await open('things');
    await subscribeSince(again, { action: 'subscribe_instance', pk: row.pk, request_id: 'i', since: p0 });
    await expectEvents(
      again,
      [
        ['update', { pk: row.pk, name: 'inst', counter: 1 }, 200],
        ['update', { pk: row.pk, name: 'inst', counter: 2 }, 200],
        ['delete', { pk: row.pk }, 204],
      ],
      'i',
    );
    assert.ok(await again.quiet());
    assert.deepEqual(
      await again.request({ action: 'subscribe_instance', pk: 987654, request_id: 'n', since: p0 }),
      reply('subscribe_instance', null, 404, 'n', ['Not found']),
    );
    for (const socket of [writer, again]) socket.close();
  });

  test('subscribe_instance since latest on a live row: the reply position, then live events with positions', async () => {
    const socket = await open('things');
    const row = (await socket.request({ action: 'create', data: { name: 'live' }, request_id: 1 })).data;
    await subscribeSince(socket, { action: 'subscribe_instance', pk: row.pk, request_id: 'l', since: 'latest' });
    socket.send({ action: 'patch', pk: row.pk, data: { counter: 3 }, request_id: 2 });
    assert.deepEqual(await socket.next(), reply('patch', { pk: row.pk, name: 'live', counter: 3 }, 200, 2));
    positionedEvent(await socket.next(), 'update', { pk: row.pk, name: 'live', counter: 3 }, 200, 'l');
    socket.close();
  });

  test('subscribe_instance resubscribed since an expired or malformed position: refused, and the subscription it would replace lives on', async () => {
    const socket = await open('things');
    const row = (await socket.request({ action: 'create', data: { name: 'kept' }, request_id: 1 })).data;
    await subscribeSince(socket, { action: 'subscribe_instance', pk: row.pk, request_id: 'k', since: 'latest' });
    const expired = await socket.request({ action: 'subscribe_instance', pk: row.pk, request_id: 'k', since: 'zzzzzzzzzzzz.1' });
    assert.deepEqual([expired.response_status, expired.errors], [410, [EXPIRED]]);
    const malformed = await socket.request({ action: 'subscribe_instance', pk: row.pk, request_id: 'k', since: 'garbage' });
    assert.deepEqual([malformed.response_status, malformed.errors], [400, [{ since: ['Not a valid position.'] }]]);
    socket.send({ action: 'patch', pk: row.pk, data: { counter: 5 }, request_id: 2 });
    assert.deepEqual(await socket.next(), reply('patch', { pk: row.pk, name: 'kept', counter: 5 }, 200, 2));
    positionedEvent(await socket.next(), 'update', { pk: row.pk, name: 'kept', counter: 5 }, 200, 'k');
    socket.close();
  });

  test('tests subscribe_activity (a model observer): the missed changes, then live ones', async () => {
    const writer = await open('tests');
    const first = await open('tests');
    const p0 = await subscribeSince(first, { action: 'subscribe_activity', request_id: 'act', since: 'latest' });
    first.close();
    const t = (await writer.request({ action: 'create', data: { name: 't1' }, request_id: 1 })).data;
    await writer.request({ action: 'patch', pk: t.id, data: { name: 't2' }, request_id: 2 });
    await writer.request({ action: 'delete', pk: t.id, request_id: 3 });

    const again = await open('tests');
    await subscribeSince(again, { action: 'subscribe_activity', request_id: 'act', since: p0 });
    const frames = [await again.next(), await again.next(), await again.next()];
    assert.deepEqual(
      frames.map((frame) => [frame.action, frame.data.name, frame.request_id]),
      [
        ['create', 't1', 'act'],
        ['update', 't2', 'act'],
        ['delete', 't2', 'act'],
      ],
    );
    assert.equal(new Set(frames.map((frame) => frame.position)).size, 3);
    const t3 = (await writer.request({ action: 'create', data: { name: 't3' }, request_id: 4 })).data;
    const live = await again.next();
    assert.deepEqual([live.action, live.data.id, typeof live.position], ['create', t3.id, 'string']);
    assert.ok(await again.quiet());
    for (const socket of [writer, again]) socket.close();
  });

  test('classroom groups: a row leaving and entering the school group is replayed as delete / create, judged on each change', async () => {
    const schools = await open('schools');
    const s1 = (await schools.request({ action: 'create', data: { name: 'feed school 1' }, request_id: 1 })).data.id;
    const s2 = (await schools.request({ action: 'create', data: { name: 'feed school 2' }, request_id: 2 })).data.id;
    const writer = await open('classrooms');
    const first = await open('classrooms');
    const p0 = await subscribeSince(first, {
      action: 'subscribe_to_classrooms_in_school',
      school_pk: s1,
      request_id: 'g',
      since: 'latest',
    });
    first.close();

    const room = (await writer.request({ action: 'create', data: { name: 'r', school: s1 }, request_id: 3 })).data;
    await writer.request({ action: 'patch', pk: room.id, data: { name: 'r1' }, request_id: 4 });
    await writer.request({ action: 'patch', pk: room.id, data: { school: s2 }, request_id: 5 });
    await writer.request({ action: 'patch', pk: room.id, data: { name: 'r2' }, request_id: 6 });
    await writer.request({ action: 'patch', pk: room.id, data: { school: s1 }, request_id: 7 });
    await writer.request({ action: 'delete', pk: room.id, request_id: 8 });

    const again = await open('classrooms');
    await subscribeSince(again, { action: 'subscribe_to_classrooms_in_school', school_pk: s1, request_id: 'g', since: p0 });
    await expectEvents(
      again,
      [
        ['create', { id: room.id, name: 'r', school: s1 }, 200],
        ['update', { id: room.id, name: 'r1', school: s1 }, 200],
        ['delete', { id: room.id, name: 'r1', school: s2 }, 200],
        ['create', { id: room.id, name: 'r2', school: s1 }, 200],
        ['delete', { id: room.id, name: 'r2', school: s1 }, 200],
      ],
      'g',
    );
    assert.ok(await again.quiet(), 'the change made outside the group is not replayed');

    const one = await open('classrooms');
    const other = (await writer.request({ action: 'create', data: { name: 'o', school: s2 }, request_id: 9 })).data;
    const p1 = await subscribeSince(one, { action: 'subscribe_to_classroom', classroom_pk: other.id, request_id: 'c', since: 'latest' });
    one.close();
    await writer.request({ action: 'patch', pk: other.id, data: { name: 'o1' }, request_id: 10 });
    const resumed = await open('classrooms');
    await subscribeSince(resumed, { action: 'subscribe_to_classroom', classroom_pk: other.id, request_id: 'c', since: p1 });
    await expectEvents(resumed, [['update', { id: other.id, name: 'o1', school: s2 }, 200]], 'c');
    for (const socket of [schools, writer, again, resumed]) socket.close();
  });

  test('notes (row-scoped): alice resumes and gets her own notes’ changes only', async () => {
    const a = await open('notes', alice);
    const b = await open('notes', bob);
    const p0 = await subscribeSince(a, { action: 'subscribe_many', request_id: 'n', since: 'latest' });
    a.close();
    await b.request({ action: 'create', data: { text: 'bob secret' }, request_id: 1 });
    const a2 = await open('notes', alice);
    const mine = (await a2.request({ action: 'create', data: { text: 'mine' }, request_id: 2 })).data;
    await a2.request({ action: 'patch', pk: mine.id, data: { text: 'mine2' }, request_id: 3 });
    await subscribeSince(a2, { action: 'subscribe_many', request_id: 'n', since: p0 });
    await expectEvents(
      a2,
      [
        ['create', { id: mine.id, owner: mine.owner, text: 'mine' }, 200],
        ['update', { id: mine.id, owner: mine.owner, text: 'mine2' }, 200],
      ],
      'n',
    );
    assert.ok(await a2.quiet(), "bob's note is not alice's to hear of");
    a2.close();
    b.close();
  });

  test('products subscribe_many: resumes like things', async () => {
    const writer = await open('products');
    const first = await open('products');
    const p0 = await subscribeSince(first, { action: 'subscribe_many', request_id: 'p', since: 'latest' });
    first.close();
    const made = (await writer.request({ action: 'create', data: { name: 'Feed', slug: 'feed', price: '1.00' }, request_id: 1 })).data;
    assert.ok(made.id, JSON.stringify(made));
    await writer.request({ action: 'delete', pk: made.id, request_id: 2 });
    const again = await open('products');
    await subscribeSince(again, { action: 'subscribe_many', request_id: 'p', since: p0 });
    const [created, deleted] = [await again.next(), await again.next()];
    assert.deepEqual([created.action, created.data.id, created.response_status], ['create', made.id, 200]);
    assert.deepEqual([deleted.action, deleted.data.id, deleted.response_status], ['delete', made.id, 204]);
    assert.notEqual(created.position, deleted.position);
    for (const socket of [writer, again]) socket.close();
  });
});

describe('refused positions', () => {
  test('garbage is 400 "Not a valid position.", another log’s or a future position is 410 with the head; no subscription made', async () => {
    const socket = await open('things');
    for (const since of ['garbage', '', 12, { a: 1 }, 'x'.repeat(100)]) {
      assert.deepEqual(
        await socket.request({ action: 'subscribe_many', request_id: 'bad', since }),
        reply('subscribe_many', null, 400, 'bad', [{ since: ['Not a valid position.'] }]),
        JSON.stringify(since),
      );
    }
    const head = (await socket.request({ action: 'list', request_id: 'h', with_position: true })).position;
    for (const since of ['zzzzzzzzzzzz.1', `${head.split('.')[0]}.${(36 ** 8).toString(36)}`]) {
      const answer = await socket.request({ action: 'subscribe_many', request_id: 'old', since });
      assert.deepEqual({ ...answer, data: null }, reply('subscribe_many', null, 410, 'old', [EXPIRED]), since);
      assert.deepEqual(Object.keys(answer.data), ['position']);
      assert.equal(typeof answer.data.position, 'string');
    }
    await socket.request({ action: 'create', data: { name: 'after refusals' }, request_id: 1 });
    assert.ok(await socket.quiet(), 'no subscription was made');
    const instance = await socket.request({ action: 'subscribe_instance', pk: 1, request_id: 'i', since: 'zzzzzzzzzzzz.1' });
    assert.equal(instance.response_status, 410);
    const tests = await open('tests');
    const activity = await tests.request({ action: 'subscribe_activity', request_id: 'a', since: 'zzzzzzzzzzzz.1' });
    assert.deepEqual([activity.response_status, activity.errors], [410, [EXPIRED]]);
    assert.deepEqual(
      await tests.request({ action: 'subscribe_activity', request_id: 'a', since: '???' }),
      reply('subscribe_activity', null, 400, 'a', [{ since: ['Not a valid position.'] }]),
    );
    socket.close();
    tests.close();
  });

  test('a position pruned past the retention is 410 with the head; the head itself still resumes', async () => {
    const socket = await open('things');
    const old = (await socket.request({ action: 'list', request_id: 'h0', with_position: true })).position;
    const row = (await socket.request({ action: 'create', data: { name: 'pruned' }, request_id: 1 })).data;
    await socket.request({ action: 'patch', pk: row.pk, data: { counter: 1 }, request_id: 2 });
    // A day and more later, maintenance prunes everything written so far.
    const log = app.runtime.hub.changeLog;
    assert.ok(log, 'the demo keeps a change log');
    await log.prune(Date.now() + 2 * 24 * 3600_000);
    const answer = await socket.request({ action: 'subscribe_many', request_id: 'p', since: old });
    assert.deepEqual({ ...answer, data: null }, reply('subscribe_many', null, 410, 'p', [EXPIRED]));
    const head = answer.data.position;
    assert.equal((await socket.request({ action: 'list', request_id: 'h1', with_position: true })).position, head);
    await subscribeSince(socket, { action: 'subscribe_many', request_id: 'p', since: head });
    socket.close();
  });

  test('chat (a custom signal) has no positions: 400', async () => {
    const chat = await open('chat');
    assert.deepEqual(
      await chat.request({ action: 'subscribe_joined', chat_id: 1, request_id: 'c', since: 'latest' }),
      reply('subscribe_joined', null, 400, 'c', [{ since: ['This subscription has no positions.'] }]),
    );
    chat.close();
  });
});

describe('anchored reads', () => {
  test('list, retrieve, paginated and streamed lists answer "with_position": true with a top-level position', async () => {
    const things = await open('things');
    const row = (await things.request({ action: 'create', data: { name: 'anchored' }, request_id: 1 })).data;
    const listed = await things.request({ action: 'list', request_id: 2, with_position: true });
    assert.equal(listed.response_status, 200);
    assert.equal(typeof listed.position, 'string');
    assert.ok(listed.data.some((thing: { pk: unknown }) => thing.pk === row.pk));
    const retrieved = await things.request({ action: 'retrieve', pk: row.pk, request_id: 3, with_position: true });
    assert.deepEqual({ ...retrieved, position: undefined }, { ...reply('retrieve', row, 200, 3), position: undefined });
    assert.equal(typeof retrieved.position, 'string');
    assert.equal('position' in (await things.request({ action: 'retrieve', pk: row.pk, request_id: 4 })), false);

    const users = await open('users', alice);
    const page = await users.request({ action: 'list', request_id: 5, with_position: true });
    assert.deepEqual([page.response_status, typeof page.position], [200, 'string']);

    const schools = await open('schools');
    for (let i = 0; i < 3; i++) await schools.request({ action: 'create', data: { name: `anchor ${i}` }, request_id: 10 + i });
    schools.send({ action: 'list', limit: 1, request_id: 'pages', with_position: true });
    const first = await schools.next();
    const positions = new Set([first.position]);
    for (let offset = 1; offset < first.data.count; offset++) positions.add((await schools.next()).position);
    assert.equal(positions.size, 1, 'the first page’s position anchors every page');
    assert.equal(typeof first.position, 'string');
    for (const socket of [things, users, schools]) socket.close();
  });

  test('list with_position while a writer runs, then subscribe_many since it: the rebuilt state equals the table (20 seeded runs)', async () => {
    const sorted = (rows: Iterable<unknown>) => [...rows].sort((x: any, y: any) => x.pk - y.pk);
    for (let seed = 1; seed <= 20; seed++) {
      let state = seed * 7919;
      const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
      const writer = await open('things');
      const reader = await open('things');
      const pks: unknown[] = [];
      for (let i = 0; i < 3; i++)
        pks.push((await writer.request({ action: 'create', data: { name: `s${seed}-${i}` }, request_id: i })).data.pk);
      // The read lands somewhere among the writes: after a seeded number of them, the rest running on.
      const readAt = (seed * 7) % 25;
      let reached: () => void = () => undefined;
      const readNow = new Promise<void>((resolve) => (reached = resolve));
      const writes = (async () => {
        for (let n = 0; n < 40; n++) {
          if (n === readAt) reached();
          const choice = random();
          if (choice < 0.4 || pks.length === 0) {
            pks.push((await writer.request({ action: 'create', data: { name: `s${seed}-w${n}` }, request_id: `w${n}` })).data.pk);
          } else if (choice < 0.8) {
            const pk = pks[Math.floor(random() * pks.length)];
            await writer.request({ action: 'patch', pk, data: { counter: n }, request_id: `w${n}` });
          } else {
            const pk = pks.splice(Math.floor(random() * pks.length), 1)[0];
            await writer.request({ action: 'delete', pk, request_id: `w${n}` });
          }
        }
      })();
      await readNow;
      const listed = await reader.request({ action: 'list', request_id: 'l', with_position: true });
      const rebuilt = new Map<unknown, unknown>(listed.data.map((thing: { pk: unknown }) => [thing.pk, thing]));
      await subscribeSince(reader, { action: 'subscribe_many', request_id: 's', since: listed.position });
      await writes;
      // A last write marks the end: events come in commit order, so once its event is here every
      // earlier one is too (no waiting for the socket to go quiet).
      const end = (await writer.request({ action: 'create', data: { name: `s${seed}-end` }, request_id: 'end' })).data;
      const table = (await writer.request({ action: 'list', request_id: 'table' })).data as Array<{ pk: unknown }>;
      for (;;) {
        const frame = await reader.next(10_000);
        if (frame.action === 'delete') rebuilt.delete(frame.data.pk);
        else rebuilt.set(frame.data.pk, frame.data);
        if (frame.data.pk === end.pk) break;
      }
      assert.deepEqual(sorted(rebuilt.values()), sorted(table), `seed ${seed}`);
      writer.close();
      reader.close();
    }
  });
});

/** An app's own observers, written as before positions existed: they resume through the observer machinery. */
const ownThings = modelObserver<OwnObserverConsumer>(Thing, { name: 'own_things' });
const handled: Array<ObservedEvent & { consumer: string }> = [];
const ownHandled = modelObserver<OwnObserverConsumer>(Thing, {
  name: 'own_things_handled',
  handler: (_consumer, event) => {
    handled.push({ ...event, consumer: 'own' });
  },
});

class OwnObserverConsumer extends AsyncAPIConsumer {
  @action({ args: ['request_id'] })
  async subscribe_own(args: ActionArgs): Promise<ActionResult> {
    await ownThings.subscribe(this, args, args.request_id);
    return [null, 201];
  }

  @action({ args: ['request_id'] })
  async subscribe_handled(args: ActionArgs): Promise<ActionResult> {
    await ownHandled.subscribe(this, args, args.request_id);
    return [null, 201];
  }
}

test("an app's own observer action resumes unchanged: 201 data {position}, the missed events with positions; its handler gets event.position", async () => {
  const writer = await open('things');
  const plain = await DcrfCommunicator.connect(OwnObserverConsumer, { runtime: app.runtime });
  plain.send({ action: 'subscribe_own', request_id: 'plain' });
  assert.deepEqual(await plain.receive(), reply('subscribe_own', null, 201, 'plain'), 'without since: today’s reply');
  const p0 = (await writer.request({ action: 'list', request_id: 0, with_position: true })).position;
  const row = (await writer.request({ action: 'create', data: { name: 'own' }, request_id: 1 })).data;
  assert.deepEqual(await plain.receive(), reply('create', { pk: row.pk }, 200, 'plain'), 'without since: no position');

  const own = await DcrfCommunicator.connect(OwnObserverConsumer, { runtime: app.runtime });
  own.send({ action: 'subscribe_own', request_id: 'r', since: p0 });
  const answer = await own.receive();
  assert.deepEqual([answer.response_status, typeof answer.data.position], [201, 'string']);
  positionedEvent(await own.receive(), 'create', { pk: row.pk }, 200, 'r');

  own.send({ action: 'subscribe_handled', request_id: 'h', since: p0 });
  assert.equal((await own.receive()).response_status, 201);
  for (let i = 0; i < 50 && handled.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(
    handled.map((event) => [event.action, event.subscribingRequestIds, typeof event.position]),
    [['create', ['h'], 'string']],
  );
  await plain.close();
  await own.close();
  writer.close();
});
