/**
 * The change pipeline on a real SQLite database: LiveModel hooks → after-commit buffer → ChangeHub
 * topics. Writes go through the demo's Objection models; a subscription on the hub's topics sees what
 * a socket's observer would.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { raw } from 'objection';
import { openDemoDatabase } from '../../src/demo/app.js';
import { Classroom, School, Thing } from '../../src/demo/models.js';
import type { ChangeHub, ChangeMessage } from '../../src/events/hub.js';
import { classroomGrouping } from '../../src/demo/live.js';
import { Runtime } from '../../src/runtime.js';

let dir: string;
let knex: Knex;
let runtime: Runtime | undefined;
let hub: ChangeHub;
let received: ChangeMessage[];
let closers: Array<() => void>;

/** Listens to every Thing change; returns what arrived so far (a live array). */
async function listen(topic: string, model = 'Thing'): Promise<ChangeMessage[]> {
  const inbox: ChangeMessage[] = [];
  closers.push(await hub.subscribe(topic, (message: ChangeMessage) => inbox.push(message), model));
  return inbox;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-events-'));
  knex = await openDemoDatabase(`sqlite:${path.join(dir, 'events.sqlite3')}`);
});

after(async () => {
  await runtime?.close();
  await knex.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  for (const close of closers ?? []) close();
  closers = [];
  // A fresh runtime (and hub) per test, bound to the test's database: the models' writes publish to it.
  await runtime?.close();
  // Without the change log: this file tests the capture and the hub's topics as they are without one
  // (test/e2e/change-log.test.ts tests the log).
  runtime = await Runtime.create({ knex, changeLog: false });
  hub = runtime.hub;
  await knex('classrooms').delete();
  await knex('things').delete();
  received = await listen(hub.modelTopic('Thing'));
});

/** Lets pending commit callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a committed transaction publishes once, after COMMIT; the event shows the committed row', async () => {
  let seenInside = -1;
  const thing = await Thing.transaction(async (trx) => {
    const created = await Thing.query(trx).insert({ name: 'a' });
    await settle();
    seenInside = received.length;
    return created;
  });
  assert.equal(seenInside, 0, 'nothing is published before the commit');
  assert.equal(received.length, 1);
  assert.deepEqual(received[0]!.action, 'create');
  assert.deepEqual(received[0]!.data, { id: thing.id, name: 'a', counter: 0 });
});

test('a rollback (thrown error) publishes nothing', async () => {
  await assert.rejects(
    Thing.transaction(async (trx) => {
      await Thing.query(trx).insert({ name: 'gone' });
      throw new Error('abort');
    }),
  );
  await settle();
  assert.equal(received.length, 0);
  assert.equal(await Thing.query().resultSize(), 0);
});

test('an explicit trx.rollback() publishes nothing (knex resolves it like a commit)', async () => {
  const trx = await Thing.startTransaction();
  await Thing.query(trx).insert({ name: 'gone' });
  await trx.rollback();
  await settle();
  assert.equal(received.length, 0);
  assert.equal(await Thing.query().resultSize(), 0);
});

test('three writes to one row in one transaction: one update with the final state', async () => {
  const thing = await Thing.query().insert({ name: 'r' });
  await settle();
  received.length = 0;
  await Thing.transaction(async (trx) => {
    await Thing.query(trx).patch({ counter: 1 }).where('id', thing.id);
    await thing.$query(trx).patch({ counter: 2 });
    await Thing.query(trx).patch({ name: 'r3', counter: 3 }).findById(thing.id);
  });
  assert.equal(received.length, 1);
  assert.equal(received[0]!.action, 'update');
  assert.deepEqual(received[0]!.data, { id: thing.id, name: 'r3', counter: 3 });
  assert.deepEqual(received[0]!.before, { id: thing.id, name: 'r', counter: 0 });
});

test('create then update in one transaction is one create with the final state', async () => {
  const id = await Thing.transaction(async (trx) => {
    const created = await Thing.query(trx).insert({ name: 'c' });
    await Thing.query(trx).patch({ counter: 7 }).findById(created.id);
    return created.id;
  });
  assert.deepEqual(
    received.map((m) => [m.action, m.data]),
    [['create', { id, name: 'c', counter: 7 }]],
  );
});

test('create then delete in one transaction publishes nothing', async () => {
  await Thing.transaction(async (trx) => {
    const created = await Thing.query(trx).insert({ name: 'brief' });
    await Thing.query(trx).deleteById(created.id);
  });
  assert.equal(received.length, 0);
});

test('update then delete in one transaction: one delete carrying the last state', async () => {
  const thing = await Thing.query().insert({ name: 'u', counter: 1 });
  await settle();
  received.length = 0;
  await Thing.transaction(async (trx) => {
    await Thing.query(trx).patch({ counter: 2 }).findById(thing.id);
    await Thing.query(trx).deleteById(thing.id);
  });
  assert.deepEqual(
    received.map((m) => [m.action, m.data]),
    [['delete', { id: thing.id, name: 'u', counter: 2 }]],
  );
});

test('a released savepoint folds into its parent; a rolled-back one is dropped', async () => {
  const [a, b] = [await Thing.query().insert({ name: 'a' }), await Thing.query().insert({ name: 'b' })];
  await settle();
  received.length = 0;
  let afterRelease = -1;
  await Thing.transaction(async (trx) => {
    await trx.transaction(async (savepoint) => {
      await Thing.query(savepoint).patch({ counter: 1 }).findById(a.id);
    });
    await settle();
    afterRelease = received.length;
    await assert.rejects(
      trx.transaction(async (savepoint) => {
        await Thing.query(savepoint).patch({ counter: 99 }).findById(b.id);
        throw new Error('undo this savepoint');
      }),
    );
    const explicit = await trx.transaction();
    await Thing.query(explicit).patch({ counter: 98 }).findById(b.id);
    await explicit.rollback();
    await Thing.query(trx).patch({ counter: 2 }).findById(a.id);
  });
  assert.equal(afterRelease, 0, 'a released savepoint waits for the outer commit');
  assert.deepEqual(
    received.map((m) => [m.action, m.data]),
    [['update', { id: a.id, name: 'a', counter: 2 }]],
  );
});

test('a bulk Thing.query().patch().where() over 100 rows: 100 update events', async () => {
  await knex('things').insert(Array.from({ length: 100 }, (_, i) => ({ name: `bulk ${i}`, counter: 0 })));
  await Thing.transaction(
    async (trx) =>
      await Thing.query(trx)
        .patch({ counter: raw('counter + 1') as any })
        .where('name', 'like', 'bulk %'),
  );
  assert.equal(received.length, 100);
  assert.ok(received.every((m) => m.action === 'update' && m.data.counter === 1 && m.before?.counter === 0));
  assert.equal(new Set(received.map((m) => m.pk)).size, 100);
});

test('a bulk .delete().where() outside a transaction: one delete event per row, with its last state', async () => {
  const rows = await Thing.query()
    .insert({ name: 'x1' })
    .then(async (x1) => [x1, await Thing.query().insert({ name: 'x2', counter: 4 })]);
  await Thing.query().insert({ name: 'keep' });
  await settle();
  received.length = 0;
  const deleted = await Thing.query().delete().where('name', 'like', 'x%');
  assert.equal(deleted, 2);
  assert.deepEqual(
    received.map((m) => [m.action, m.pk, m.data]).sort((l, r) => Number(l[1]) - Number(r[1])),
    rows.map((row) => ['delete', row.id, { id: row.id, name: row.name, counter: row.counter }]),
  );
});

test('insert([...]) of several rows works on SQLite: one create per row, all or nothing', async () => {
  const created = await Thing.query().insert([{ name: 'i1' }, { name: 'i2', counter: 2 }, { name: 'i3' }]);
  assert.equal(created.length, 3);
  assert.deepEqual(
    received.map((m) => [m.action, m.data]),
    created.map((thing) => ['create', { id: thing.id, name: thing.name, counter: thing.counter ?? 0 }]),
  );
  received.length = 0;
  await assert.rejects(async () => await Thing.query().insert([{ name: 'ok' }, { name: null as unknown as string }]));
  assert.equal(await Thing.query().where('name', 'ok').resultSize(), 0, 'the batch rolled back');
  assert.equal(received.length, 0);
  const inTrx = await Thing.transaction(async (trx) => await Thing.query(trx).insert([{ name: 'j1' }, { name: 'j2' }]));
  assert.deepEqual(
    received.map((m) => m.pk),
    inTrx.map((thing) => thing.id),
  );
});

/** Listens to one group of the demo's classroom grouping (judged on receipt); returns what arrived so far. */
async function listenGroup(group: string): Promise<ChangeMessage[]> {
  const inbox: ChangeMessage[] = [];
  closers.push(await hub.subscribeGroup('Classroom', classroomGrouping, group, (message: ChangeMessage) => inbox.push(message)));
  return inbox;
}

test('instance topic and groups: a classroom moving school is delete / update / create by group', async () => {
  const [s1, s2] = [await School.query().insert({ name: 's1' }), await School.query().insert({ name: 's2' })];
  const room = await Classroom.query().insert({ name: 'room', school: s1.id });
  const inSchool1 = await listenGroup(`school__${s1.id}`);
  const inSchool2 = await listenGroup(`school__${s2.id}`);
  const theRoom = await listenGroup(`pk__${room.id}`);
  const instance = await listen(hub.instanceTopic('Classroom', room.id), 'Classroom');
  await Classroom.transaction(async (trx) => await Classroom.query(trx).patch({ school: s2.id }).findById(room.id));
  const moved = { id: room.id, name: 'room', school: s2.id };
  assert.deepEqual(
    inSchool1.map((m) => [m.action, m.data]),
    [['delete', moved]],
  );
  assert.deepEqual(
    inSchool2.map((m) => [m.action, m.data]),
    [['create', moved]],
  );
  assert.deepEqual(
    theRoom.map((m) => [m.action, m.data]),
    [['update', moved]],
  );
  assert.deepEqual(
    instance.map((m) => [m.action, m.data]),
    [['update', moved]],
  );
});

test('a write nobody observes costs no extra query; an observed one reads before and after', async () => {
  const thing = await Thing.query().insert({ name: 'q' });
  const count = async (work: () => PromiseLike<unknown>) => {
    let queries = 0;
    const onQuery = () => queries++;
    knex.on('query', onQuery);
    try {
      await work();
    } finally {
      knex.off('query', onQuery);
    }
    return queries;
  };
  const write = () =>
    Thing.query()
      .patch({ counter: raw('counter + 1') as any })
      .findById(thing.id);
  const insert = () => Thing.query().insert({ name: 'n' });
  const remove = () => Thing.query().delete().where('name', 'n');
  for (const close of closers) close();
  closers = [];
  assert.equal(hub.isObserved('Thing'), false);
  assert.equal(await count(write), 1, 'unobserved patch: the UPDATE alone');
  assert.equal(await count(insert), 1, 'unobserved insert: the INSERT alone');
  assert.equal(await count(remove), 1, 'unobserved delete: the DELETE alone');
  await listen(hub.instanceTopic('Thing', thing.id));
  assert.equal(hub.isObserved('Thing'), true);
  assert.equal(await count(write), 3, 'observed patch: read before, UPDATE, re-read');
  assert.equal(await count(insert), 2, 'observed insert: INSERT, re-read');
  assert.equal(await count(remove), 2, 'observed delete: read before, DELETE');
});

test('topics nobody listens to are not published; dropping the last listener frees the topic', async () => {
  const thing = await Thing.query().insert({ name: 't' });
  const before = hub.stats.published;
  await Thing.query().patch({ counter: 5 }).findById(thing.id);
  assert.equal(hub.stats.published - before, 1, 'only the model topic someone listens to');
  assert.equal(hub.topicCount, 1);
  for (const close of closers) close();
  closers = [];
  assert.equal(hub.topicCount, 0);
  assert.equal(hub.isObserved('Thing'), false);
});

test('a subscription that starts while an unobserved write is open goes live only once that write ended', async () => {
  for (const close of closers) close();
  closers = [];
  const thing = await Thing.query().insert({ name: 'race' });
  const trx = await Thing.startTransaction();
  await Thing.query(trx).patch({ counter: 1 }).findById(thing.id); // nobody listens: nothing captured
  assert.equal(hub.unobservedWrites.count('Thing'), 1);
  let live = false;
  const subscribed = hub
    .subscribe(hub.instanceTopic('Thing', thing.id), () => undefined, 'Thing')
    .then((close) => {
      live = true;
      closers.push(close);
    });
  await settle();
  assert.equal(live, false, 'not live while a write that captured nothing can still commit');
  // Writes from now on are observed and captured, in this same transaction too. (A handler is in
  // place at once; awaiting this second subscription now would wait for the open transaction too.)
  const events: ChangeMessage[] = [];
  const second = hub.subscribe(hub.modelTopic('Thing'), (message: ChangeMessage) => events.push(message), 'Thing');
  await Thing.query(trx).patch({ counter: 2 }).findById(thing.id);
  await trx.commit();
  await subscribed;
  closers.push(await second);
  assert.equal(live, true);
  assert.equal(hub.unobservedWrites.count('Thing'), 0);
  assert.deepEqual(
    events.map((m) => [m.action, m.data.counter]),
    [['update', 2]],
  );

  // Outside a transaction, the wait ends with the statement, failed or not.
  for (const close of closers) close();
  closers = [];
  await assert.rejects(
    async () =>
      await Thing.query()
        .patch({ name: null as unknown as string })
        .findById(thing.id),
  );
  assert.equal(hub.unobservedWrites.count('Thing'), 0, 'a failed statement does not leave a wait behind');
});
