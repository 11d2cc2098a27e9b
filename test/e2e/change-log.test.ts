/**
 * The change log on a real database (SQLite in the sqlite pass, a fresh PostgreSQL database in the
 * postgres pass): entries written in the writing transaction, positions in commit order, delivery in
 * log order through a PubSub that drops messages, resume `since` a position at the hub and resource
 * level (model, row and group topics), expired and malformed positions, retention.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { PubSub } from 'graphql-subscriptions';
import { openDemoDatabase } from '../../src/demo/app.js';
import { Classroom, School, Thing } from '../../src/demo/models.js';
import { classroomGrouping } from '../../src/demo/live.js';
import { thingResource } from '../../src/demo/resources.js';
import { CHANGE_LOG_TABLE, PositionError, type ChangeLog } from '../../src/events/change-log.js';
import type { ChangeMessage } from '../../src/events/hub.js';
import { resourceCall, type ResourceEvent } from '../../src/resources/resource.js';
import { Runtime } from '../../src/runtime.js';
import { GatewayMetrics } from '../../src/server/metrics.js';
import type { ConnectionScope } from '../../src/scope.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

/** A PubSub that silently drops the messages it is told to (a broker that loses them). */
class DroppingPubSub extends PubSub {
  drop = false;
  override publish(topic: string, payload: unknown): Promise<void> {
    if (this.drop) return Promise.resolve();
    return super.publish(topic, payload);
  }
}

const postgresUrl = process.env.TEST_DATABASE_URL;
let database: TestDatabase | undefined;
let dir: string | undefined;
let knex: Knex;
let runtime: Runtime;
let pubsub: DroppingPubSub;
let log: ChangeLog;
const closers: Array<() => void> = [];

before(async () => {
  if (postgresUrl) database = await createTestDatabase(postgresUrl);
  else dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-change-log-'));
  knex = await openDemoDatabase(database ? database.url : `sqlite:${path.join(dir!, 'log.sqlite3')}`);
});

after(async () => {
  await runtime?.close();
  await knex.destroy();
  await database?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  for (const close of closers.splice(0)) close();
  await runtime?.close();
  pubsub = new DroppingPubSub();
  runtime = await Runtime.create({ knex, pubsub, pubsubInProcess: true });
  log = runtime.hub.changeLog!;
  await knex('classrooms').delete();
  await knex('things').delete();
});

/** Listens to a topic (resuming `since` when given); returns what arrived so far (a live array) and the position. */
async function listen(topic: string, since?: string, model = 'Thing'): Promise<{ inbox: ChangeMessage[]; position?: string }> {
  const inbox: ChangeMessage[] = [];
  const close = await runtime.hub.subscribeFrom(topic, (message: ChangeMessage) => inbox.push(message), model, since);
  closers.push(close);
  return { inbox, position: close.position };
}

/** Waits until `check` holds (or fails after `ms`). */
async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const summary = (messages: ChangeMessage[]) => messages.map((m) => [m.action, m.pk, (m.data as { counter?: number }).counter]);
const rows = async () => (await knex(CHANGE_LOG_TABLE).orderBy('seq')) as Array<{ seq: number; model: string; action: string }>;

test('a rollback leaves no entry; a commit leaves one per row, with its position on the event', async () => {
  const { inbox } = await listen(runtime.hub.modelTopic('Thing'));
  const before = (await rows()).length;
  await assert.rejects(
    Thing.transaction(async (trx) => {
      await Thing.query(trx).insert({ name: 'gone' });
      throw new Error('roll back');
    }),
  );
  assert.equal((await rows()).length, before, 'nothing logged for a rolled-back transaction');
  const thing = await Thing.query().insert({ name: 'kept' });
  const entries = (await rows()).slice(before);
  assert.deepEqual(
    entries.map((entry) => [entry.model, entry.action]),
    [['Thing', 'create']],
  );
  await until(() => inbox.length === 1);
  assert.equal(inbox[0]!.pk, thing.id);
  assert.equal(inbox[0]!.position, log.position(Number(entries[0]!.seq)));
  assert.ok(inbox[0]!.position!.length <= 64);
});

test('a bulk write of N rows gets N positions, increasing', async () => {
  const { inbox } = await listen(runtime.hub.modelTopic('Thing'));
  await Thing.query().insert([{ name: 'b1' }, { name: 'b2' }, { name: 'b3' }]);
  await Thing.query().patch({ counter: 7 }).where('name', 'like', 'b%');
  await until(() => inbox.length === 6);
  const seqs = inbox.map((message) => message.seq!);
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
  );
  assert.equal(new Set(inbox.map((message) => message.position)).size, 6);
  // One transaction writing more rows than one INSERT of the log may carry.
  await Thing.transaction(async (trx) => {
    for (let start = 0; start < 1500; start += 500)
      await Thing.query(trx).insert(Array.from({ length: 500 }, (_, k) => ({ name: `bulk-${start + k}` })));
  });
  await until(() => inbox.length === 1506, 10_000);
  assert.equal(new Set(inbox.map((message) => message.position)).size, 1506);
});

test('positions follow commit order: the transaction that commits first has the smaller position', async () => {
  const { inbox } = await listen(runtime.hub.modelTopic('Thing'));
  const start = await runtime.changeLog.head();
  // Both write first, then the second one commits before the first. (SQLite allows one writer at a
  // time, so there the first one writes again after the second committed.)
  const first = await Thing.startTransaction();
  const firstRow = await Thing.query(first).insert({ name: 'first' });
  let secondId: number;
  if (postgresUrl) {
    const second = await Thing.startTransaction();
    secondId = (await Thing.query(second).insert({ name: 'second' })).id;
    await second.commit();
  } else {
    await first.commit();
    secondId = (await Thing.query().insert({ name: 'second' })).id;
  }
  const afterSecond = await runtime.changeLog.head();
  if (postgresUrl) await first.commit();
  await until(() => inbox.length === 2);
  const order = inbox.map((message) => message.pk);
  assert.deepEqual(order, postgresUrl ? [secondId, firstRow.id] : [firstRow.id, secondId]);
  // A reader that resumes after the first-committed one still gets the other.
  const resumed = await listen(runtime.hub.modelTopic('Thing'), postgresUrl ? afterSecond : start);
  await until(() => resumed.inbox.length >= 1);
  assert.ok(resumed.inbox.some((message) => message.pk === firstRow.id));
});

test('a PubSub that drops messages: subscribers still get every change, in order, from the log', async () => {
  const { inbox } = await listen(runtime.hub.modelTopic('Thing'));
  const thing = await Thing.query().insert({ name: 'flaky' });
  pubsub.drop = true;
  for (let counter = 1; counter <= 5; counter++) await Thing.query().patch({ counter }).findById(thing.id);
  pubsub.drop = false;
  await Thing.query().patch({ counter: 6 }).findById(thing.id);
  await until(() => inbox.length === 7);
  assert.deepEqual(
    inbox.map((message) => (message.data as { counter: number }).counter),
    [0, 1, 2, 3, 4, 5, 6],
  );
  // And when nothing follows, the poll of the log's head delivers what the PubSub dropped.
  pubsub.drop = true;
  await Thing.query().patch({ counter: 8 }).findById(thing.id);
  await until(() => inbox.length === 8, 2000);
  assert.equal(runtime.hub.stats.lost, 0);
});

test('resume since a position on the model topic: exactly the missed changes in commit order, then live ones', async () => {
  // Writes are logged once someone observes the model (and from then on).
  await listen(runtime.hub.modelTopic('Thing'));
  const kept = await Thing.query().insert({ name: 'kept' });
  const gone = await Thing.query().insert({ name: 'gone' });
  const { position } = await listen(runtime.hub.modelTopic('Thing'), 'latest');
  assert.ok(position);
  for (const close of closers.splice(0)) close(); // the client goes away
  const created = await Thing.query().insert({ name: 'new' });
  await Thing.query().patch({ counter: 1 }).findById(kept.id);
  await Thing.query().deleteById(gone.id);
  const resumed = await listen(runtime.hub.modelTopic('Thing'), position);
  await Thing.query().patch({ counter: 2 }).findById(kept.id);
  await until(() => resumed.inbox.length === 4);
  assert.deepEqual(summary(resumed.inbox), [
    ['create', created.id, 0],
    ['update', kept.id, 1],
    ['delete', gone.id, 0],
    ['update', kept.id, 2],
  ]);
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(resumed.inbox.length, 4, 'nothing twice');
});

test('resume since a position on a row topic; a row deleted since resumes with its delete, one never there is NotFound', async () => {
  // Writes are logged once someone observes the model (and from then on).
  await listen(runtime.hub.modelTopic('Thing'));
  const thing = await Thing.query().insert({ name: 'row' });
  const position = await runtime.changeLog.head();
  await Thing.query().patch({ counter: 1 }).findById(thing.id);
  await Thing.query().insert({ name: 'other' });
  const row = await listen(runtime.hub.instanceTopic('Thing', thing.id), position);
  await until(() => row.inbox.length === 1);
  assert.deepEqual(summary(row.inbox), [['update', thing.id, 1]]);

  // Resource level: the row is deleted after the position; the replay ends with its delete.
  await Thing.query().deleteById(thing.id);
  const scope = { user: null, runtime, extra: {} } as unknown as ConnectionScope;
  const events: ResourceEvent[] = [];
  const close = await thingResource.subscribeInstance({ ...resourceCall(scope), since: position }, thing.id, (event) => events.push(event));
  closers.push(close);
  assert.ok(close.position);
  await until(() => events.length === 2);
  assert.deepEqual(
    events.map((event) => event.action),
    ['update', 'delete'],
  );
  await assert.rejects(
    thingResource.subscribeInstance({ ...resourceCall(scope), since: position }, 999_999, () => undefined),
    { name: 'NotFound' },
  );
});

test('subscribers of one change share its event, frozen: one that tries to change it cannot, the other sees it as it came', async () => {
  const thing = await Thing.query().insert({ name: 'shared' });
  const scope = { user: null, runtime, extra: {} } as unknown as ConnectionScope;
  const seen: ResourceEvent[] = [];
  const refusals: unknown[] = [];
  const meddler = (event: ResourceEvent) => {
    try {
      (event as { action: string }).action = 'delete';
    } catch (error) {
      refusals.push(error);
    }
  };
  closers.push(await thingResource.subscribeInstance(resourceCall(scope), thing.id, meddler));
  closers.push(await thingResource.subscribeInstance(resourceCall(scope), thing.id, (event) => seen.push(event)));
  await Thing.query().patch({ name: 'renamed' }).findById(thing.id);
  await until(() => seen.length === 1);
  assert.equal(refusals.length, 1);
  assert.ok(refusals[0] instanceof TypeError, 'the shared event is frozen');
  assert.equal(seen[0]!.action, 'update');
  assert.equal((seen[0]!.row as { name: string }).name, 'renamed');
});

test("resume a group since a position: a row leaving and entering the group, judged on each change's own rows", async () => {
  // Writes are logged once someone observes the model (and from then on).
  await listen(runtime.hub.modelTopic('Classroom'), undefined, 'Classroom');
  const [north, south] = [await School.query().insert({ name: 'north' }), await School.query().insert({ name: 'south' })];
  const room = await Classroom.query().insert({ name: 'r1', school: north.id });
  const position = await runtime.changeLog.head();
  await Classroom.query().patch({ school: south.id }).findById(room.id); // leaves north
  await Classroom.query().patch({ name: 'r1b' }).findById(room.id); // not in north
  await Classroom.query().patch({ school: north.id }).findById(room.id); // enters north again
  const inbox: ChangeMessage[] = [];
  const close = await runtime.hub.subscribeGroup(
    'Classroom',
    classroomGrouping,
    `school__${north.id}`,
    (message: ChangeMessage) => inbox.push(message),
    position,
  );
  closers.push(close);
  await Classroom.query().patch({ name: 'r1c' }).findById(room.id); // live, in north
  await until(() => inbox.length === 3);
  assert.deepEqual(
    inbox.map((message) => [message.action, message.data.name]),
    [
      ['delete', 'r1'],
      ['create', 'r1b'],
      ['update', 'r1c'],
    ],
  );
});

test('expired and malformed positions', async () => {
  // Writes are logged once someone observes the model (and from then on).
  await listen(runtime.hub.modelTopic('Thing'));
  await Thing.query().insert({ name: 'x' });
  const head = await runtime.changeLog.head();
  for (const garbage of ['', 'nope', 'a.b.c', `${head}!`, 'x'.repeat(80)]) {
    await assert.rejects(
      runtime.changeLog.check(garbage),
      (error: unknown) => error instanceof PositionError && error.kind === 'malformed',
      garbage,
    );
  }
  // Another log (another database, a reset log): expired, with the head.
  const foreign = `zzzzzzzzzzzz.${head.split('.')[1]}`;
  await assert.rejects(
    runtime.hub.subscribeFrom(runtime.hub.modelTopic('Thing'), () => undefined, 'Thing', foreign),
    (error: unknown) => {
      assert.ok(error instanceof PositionError && error.kind === 'expired');
      assert.equal(error.head, head);
      return true;
    },
  );
  // Newer than anything written: expired too.
  await assert.rejects(runtime.changeLog.check(log.position(Number.parseInt(head.split('.')[1]!, 36) + 1000)), { kind: 'expired' });
  await runtime.changeLog.check(head);
});

test('retention: pruning past the row bound expires older positions; newer ones still resume', async () => {
  // Writes are logged once someone observes the model (and from then on).
  await listen(runtime.hub.modelTopic('Thing'));
  const thing = await Thing.query().insert({ name: 'pruned' });
  const old = await runtime.changeLog.head();
  for (let counter = 1; counter <= 5; counter++) await Thing.query().patch({ counter }).findById(thing.id);
  const recent = await runtime.changeLog.head();
  // Two more: on SQLite a prune keeps the newest entry, so `recent` is past the retention only with one after it.
  await Thing.query().patch({ counter: 6 }).findById(thing.id);
  await Thing.query().patch({ counter: 7 }).findById(thing.id);
  const bounded = Object.create(log, { maxRows: { value: 1 } }) as ChangeLog;
  assert.ok((await bounded.prune()) > 0);
  await assert.rejects(runtime.changeLog.check(old), { kind: 'expired' });
  // Past the retention (time): everything older than it goes.
  const timed = Object.create(log, { retentionMs: { value: 0 }, maxRows: { value: 1_000_000 } }) as ChangeLog;
  await timed.prune(Date.now() + 1000);
  await assert.rejects(runtime.changeLog.check(recent), { kind: 'expired' });
  const head = await runtime.changeLog.head();
  await runtime.changeLog.check(head);
  assert.equal(log.stats.expired >= 2, true);
});

test("/metrics: the log's position, rows, oldest age, replayed and expired counts", async () => {
  const metrics = new GatewayMetrics({ hub: () => runtime.hub });
  const figure = async (name: string) => Number(new RegExp(`^dcrf_gateway_${name} (\\S+)$`, 'm').exec(await metrics.text())?.[1]);
  await listen(runtime.hub.modelTopic('Thing'));
  const start = await runtime.changeLog.head();
  const thing = await Thing.query().insert({ name: 'measured' });
  await Thing.query().patch({ counter: 1 }).findById(thing.id);
  const replayed = await figure('events_replayed_total');
  const resumed = await listen(runtime.hub.modelTopic('Thing'), start);
  await until(() => resumed.inbox.length === 2);
  assert.equal((await figure('events_replayed_total')) - replayed, 2);
  assert.ok((await figure('change_log_rows')) >= 2);
  assert.ok((await figure('change_log_oldest_seconds')) >= 0);
  assert.equal(await figure('change_log_position'), Number.parseInt((await runtime.changeLog.head()).split('.')[1]!, 36));
  const expired = await figure('positions_expired_total');
  await assert.rejects(runtime.changeLog.check(`zzzzzzzzzzzz.1`));
  assert.equal((await figure('positions_expired_total')) - expired, 1);
});

test('an anchored read of a model nobody observed yet: head(model) makes it logged, so the subscribe since it replays', async () => {
  assert.equal(runtime.hub.captures('Thing'), false, 'a fresh runtime: nobody observed Thing');
  const position = await runtime.changeLog.head('Thing');
  const thing = await Thing.query().insert({ name: 'between read and subscribe' });
  const resumed = await listen(runtime.hub.modelTopic('Thing'), position);
  await until(() => resumed.inbox.length === 1);
  assert.deepEqual(summary(resumed.inbox), [['create', thing.id, 0]]);
});
