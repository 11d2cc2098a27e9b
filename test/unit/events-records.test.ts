/**
 * Change records and the hub's pure parts: how writes of one transaction fold, which groups a change
 * reaches with which relative action, and the per-message memo.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PubSub } from 'graphql-subscriptions';
import { ChangeSet, lastState, mergeRecords, type ChangeRecord } from '../../src/events/records.js';
import { ChangeHub, relativeGroups } from '../../src/events/hub.js';

const row = (counter: number, school = 1) => ({ id: 1, counter, school });
const record = (
  action: ChangeRecord['action'],
  before: ReturnType<typeof row> | null,
  after: ReturnType<typeof row> | null,
): ChangeRecord => ({
  model: 'M',
  action,
  pk: 1,
  ...(before ? { before } : {}),
  after,
});

test('folding: create+update = create (final state); create+delete = nothing; update+update keeps the first before', () => {
  assert.deepEqual(mergeRecords(record('create', null, row(0)), record('update', row(0), row(1))), record('create', null, row(1)));
  assert.equal(mergeRecords(record('create', null, row(0)), record('delete', row(0), null)), null);
  assert.deepEqual(mergeRecords(record('update', row(0), row(1)), record('update', row(1), row(2))), record('update', row(0), row(2)));
});

test('folding: update+delete = delete whose data is the last state and whose before is the first', () => {
  const merged = mergeRecords(record('update', row(0, 1), row(1, 2)), record('delete', row(1, 2), null))!;
  assert.equal(merged.action, 'delete');
  assert.deepEqual(merged.before, row(0, 1), 'groups are left from where subscribers last saw the row');
  assert.deepEqual(lastState(merged), row(1, 2), 'the data is the row as deleted');
});

test('folding: delete then re-create under the same key is an update', () => {
  assert.deepEqual(mergeRecords(record('delete', row(0), null), record('create', null, row(5))), record('update', row(0), row(5)));
});

test('a ChangeSet keeps one record per row, in first-write order', () => {
  const set = new ChangeSet();
  set.add({ model: 'M', action: 'create', pk: 2, after: { id: 2 } });
  set.add(record('update', row(0), row(1)));
  set.add({ model: 'M', action: 'update', pk: 2, before: { id: 2 }, after: { id: 2, x: 1 } });
  set.add({ model: 'Other', action: 'create', pk: 1, after: { id: 1 } });
  assert.deepEqual(
    set.records().map((r) => [r.model, r.pk, r.action]),
    [
      ['M', 2, 'create'],
      ['M', 1, 'update'],
      ['Other', 1, 'create'],
    ],
  );
});

test('relative groups: left = delete, stayed = update, entered = create', () => {
  const groups = (r: Record<string, unknown>) => [`school__${String(r.school)}`, `pk__${String(r.id)}`];
  assert.deepEqual(Object.fromEntries(relativeGroups(record('update', row(0, 1), row(0, 2)), groups)), {
    school__1: 'delete',
    pk__1: 'update',
    school__2: 'create',
  });
  assert.deepEqual(Object.fromEntries(relativeGroups(record('create', null, row(0, 3)), groups)), { school__3: 'create', pk__1: 'create' });
  assert.deepEqual(Object.fromEntries(relativeGroups(record('delete', row(0, 3), null), groups)), { school__3: 'delete', pk__1: 'delete' });
});

test('memo computes once per message and key', () => {
  const hub = new ChangeHub(new PubSub());
  const message = {};
  let calls = 0;
  const compute = () => ++calls;
  assert.equal(hub.memo(message, 'k', compute), 1);
  assert.equal(hub.memo(message, 'k', compute), 1);
  assert.equal(hub.memo(message, 'other', compute), 2);
  assert.equal(hub.memo({}, 'k', compute), 3);
});
