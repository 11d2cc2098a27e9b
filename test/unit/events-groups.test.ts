/**
 * Observer groups judged where events are received: a group subscription listens to its model's
 * topic, and each message is judged once per grouping on the row's state before and after the write
 * (left = delete, stayed = update, entered = create), with nothing registered or published per group.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PubSub } from 'graphql-subscriptions';
import { ChangeHub, type ChangeMessage } from '../../src/events/hub.js';
import { relativeGroupsOf, type RowGrouping } from '../../src/events/groups.js';
import type { ChangeRecord, Row } from '../../src/events/records.js';
import { captureLogs } from '../helpers/hardening.js';

/** Groups by school and by id, counting how often it is asked. */
function schoolGrouping(): RowGrouping & { calls: number } {
  return {
    calls: 0,
    groupsOf(row: Row) {
      this.calls++;
      return [`school__${String(row.school)}`, `pk__${String(row.id)}`];
    },
  };
}

const room = (school: number, name = 'room'): Row => ({ id: 1, name, school });

function update(before: Row, after: Row): ChangeRecord {
  return { model: 'Classroom', action: 'update', pk: before.id, before, after };
}

/** Subscribes one inbox per group of `grouping`; returns the inboxes by group. */
async function listen(hub: ChangeHub, grouping: RowGrouping, groups: string[]): Promise<Map<string, ChangeMessage[]>> {
  const inboxes = new Map<string, ChangeMessage[]>();
  for (const group of groups) {
    const inbox: ChangeMessage[] = [];
    inboxes.set(group, inbox);
    await hub.subscribeGroup('Classroom', grouping, group, (message: ChangeMessage) => inbox.push(message));
  }
  return inboxes;
}

test('a row moving school: delete where it left, create where it entered, update where it stayed', async () => {
  const hub = new ChangeHub(new PubSub());
  const inboxes = await listen(hub, schoolGrouping(), ['school__1', 'school__2', 'pk__1', 'school__3']);
  hub.publishChanges([update(room(1), room(2))]);
  const seen = (group: string) => inboxes.get(group)!.map((message) => [message.action, message.data.school]);
  assert.deepEqual(seen('school__1'), [['delete', 2]]);
  assert.deepEqual(seen('school__2'), [['create', 2]]);
  assert.deepEqual(seen('pk__1'), [['update', 2]]);
  assert.deepEqual(seen('school__3'), [], 'a group the row never was in hears nothing');
});

test('a message is judged once per grouping, however many groups and handlers; one topic per model', async () => {
  const hub = new ChangeHub(new PubSub());
  const first = schoolGrouping();
  const second = schoolGrouping();
  const byFirst = await listen(hub, first, ['school__1', 'school__2', 'pk__1']);
  // A second handler on a group the grouping already has, and another grouping of the same model.
  const extra: ChangeMessage[] = [];
  await hub.subscribeGroup('Classroom', first, 'school__2', (message: ChangeMessage) => extra.push(message));
  const bySecond = await listen(hub, second, ['school__2']);
  assert.equal(hub.topicCount, 1, 'every group of every grouping rides the model topic');
  hub.publishChanges([update(room(1), room(2))]);
  assert.equal(first.calls, 2, 'the first grouping read the state before and after once each');
  assert.equal(second.calls, 2, 'and so did the second');
  assert.equal(byFirst.get('school__2')![0], extra[0], 'handlers of one group share the message');
  assert.equal(byFirst.get('school__2')![0]!.action, 'create');
  assert.equal(bySecond.get('school__2')![0]!.action, 'create');
  assert.equal(byFirst.get('pk__1')![0]!.action, 'update');
});

test('the message itself where the action is the same, one copy per other action', async () => {
  const hub = new ChangeHub(new PubSub());
  const inboxes = await listen(hub, schoolGrouping(), ['school__1', 'school__2', 'pk__1']);
  hub.publishChanges([update(room(1), room(2))]);
  const [left, entered, stayed] = ['school__1', 'school__2', 'pk__1'].map((group) => inboxes.get(group)![0]!);
  assert.equal(stayed!.action, 'update');
  assert.notEqual(left, entered);
  assert.deepEqual({ ...left, action: 'update' }, stayed, 'a copy differs by its action only');
});

test('a create enters, a delete leaves every group of the row; an update with no earlier state is an update where the row is', () => {
  const grouping = schoolGrouping();
  const groups = (row: Row) => grouping.groupsOf(row);
  assert.deepEqual(Object.fromEntries(relativeGroupsOf({ action: 'create', data: room(4), before: null }, groups)), {
    school__4: 'create',
    pk__1: 'create',
  });
  // A delete's data is its last state: it is in no group any more.
  assert.deepEqual(Object.fromEntries(relativeGroupsOf({ action: 'delete', data: room(5), before: room(4) }, groups)), {
    school__4: 'delete',
    pk__1: 'delete',
  });
  assert.deepEqual(Object.fromEntries(relativeGroupsOf({ action: 'update', data: room(6), before: null }, groups)), {
    school__6: 'update',
    pk__1: 'update',
  });
});

test('a grouping that throws is logged; its subscribers miss the event, the others still get it', async () => {
  const hub = new ChangeHub(new PubSub());
  const failing: RowGrouping = {
    groupsOf(row) {
      if (row.name === 'boom') throw new Error('groupsOf failed');
      return ['all'];
    },
  };
  const fine = await listen(hub, schoolGrouping(), ['school__2']);
  const fragile = await listen(hub, failing, ['all']);
  const logs = captureLogs();
  try {
    hub.publishChanges([update(room(1), room(2, 'boom'))]);
  } finally {
    logs.stop();
  }
  assert.equal(fine.get('school__2')!.length, 1);
  assert.equal(fragile.get('all')!.length, 0);
  assert.ok(logs.raw.some((line) => line.includes('observer groups failed') && line.includes('groupsOf failed')));
  assert.equal(hub.stats.handlerErrors, 0, 'a throwing grouping is not a failing handler');
});

test('the last group out drops the model topic; the next subscription opens it afresh', async () => {
  const hub = new ChangeHub(new PubSub());
  const grouping = schoolGrouping();
  const closers = [
    await hub.subscribeGroup('Classroom', grouping, 'school__1', () => undefined),
    await hub.subscribeGroup('Classroom', grouping, 'school__2', () => undefined),
  ];
  assert.equal(hub.topicCount, 1);
  closers[0]!();
  assert.equal(hub.topicCount, 1, 'one group still listens');
  closers[1]!();
  closers[1]!();
  assert.equal(hub.topicCount, 0);
  assert.equal(hub.isObserved('Classroom'), false);
  const inbox: ChangeMessage[] = [];
  const close = await hub.subscribeGroup('Classroom', grouping, 'school__2', (message: ChangeMessage) => inbox.push(message));
  hub.publishChanges([update(room(1), room(2))]);
  assert.deepEqual(
    inbox.map((message) => message.action),
    ['create'],
  );
  close();
});

test('an engine that refuses the model topic: the group subscription fails and the next one tries again', async () => {
  let refuse = true;
  class Refusing extends PubSub {
    override subscribe(...args: Parameters<PubSub['subscribe']>): Promise<number> {
      return refuse ? Promise.reject(new Error('broker unreachable')) : super.subscribe(...args);
    }
  }
  const hub = new ChangeHub(new Refusing());
  const grouping = schoolGrouping();
  await assert.rejects(
    hub.subscribeGroup('Classroom', grouping, 'school__1', () => undefined),
    /broker unreachable/,
  );
  assert.equal(hub.topicCount, 0);
  refuse = false;
  const inbox: ChangeMessage[] = [];
  await hub.subscribeGroup('Classroom', grouping, 'school__1', (message: ChangeMessage) => inbox.push(message));
  hub.publishChanges([update(room(1), room(1, 'renamed'))]);
  assert.deepEqual(
    inbox.map((message) => [message.action, message.data.name]),
    [['update', 'renamed']],
  );
});
