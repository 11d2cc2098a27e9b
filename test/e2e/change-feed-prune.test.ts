/**
 * The change feed after the whole log was pruned (row bound 0, or everything past the retention), over
 * real sockets: the head still resumes on every process, positions made before the prune are 410, and
 * the changes made after it reach live and resumed subscribers once each, in commit order. The library
 * takes its retention from options only (docs/positions.md, "Settings").
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import knexFactory, { type Knex } from 'knex';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import type { ChangeLog } from '../../src/events/change-log.js';
import { Runtime } from '../../src/runtime.js';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

const open = () => TestSocket.open(`${app.wsUrl}/ws/things/`);

/** The app's change log, pruned as maintenance would with these settings. */
function logWith(settings: { maxRows?: number; retentionMs?: number }): ChangeLog {
  const log = app.runtime.hub.changeLog;
  assert.ok(log, 'the demo keeps a change log');
  return Object.create(log, {
    maxRows: { value: settings.maxRows ?? log.maxRows },
    retentionMs: { value: settings.retentionMs ?? log.retentionMs },
  }) as ChangeLog;
}

/** SQLite keeps the newest entry through any prune (its sequence number is where the next append goes on). */
const sqlite = () => (app.knex.client.config as { client?: unknown }).client === 'better-sqlite3';

/** Empties the log (on SQLite but its newest entry): every entry pruned, by the row bound or by the retention. */
async function pruneAll(how: 'rows' | 'time'): Promise<void> {
  const newest = await app.knex('dcrf_change_log').max({ seq: 'seq' }).first();
  if (how === 'rows') assert.ok((await logWith({ maxRows: 0 }).prune()) > 0);
  else assert.ok((await logWith({ retentionMs: 0 }).prune(Date.now() + 1000)) > 0);
  const left = (await app.knex('dcrf_change_log').select('seq')).map((row) => Number(row.seq));
  assert.deepEqual(
    left,
    sqlite() ? [Number(newest?.seq)] : [],
    sqlite() ? 'all but the newest entry is pruned' : 'the whole log is pruned',
  );
}

/** Reads `count` events; returns `[action, pk, counter]` of each and checks their positions are distinct. */
async function events(socket: TestSocket, requestId: string, count: number): Promise<Array<[string, unknown, unknown]>> {
  const out: Array<[string, unknown, unknown]> = [];
  const positions = new Set<string>();
  for (let i = 0; i < count; i++) {
    const event = await socket.next(10_000);
    assert.equal(event.request_id, requestId, JSON.stringify(event));
    assert.equal(typeof event.position, 'string');
    positions.add(event.position);
    out.push([event.action, event.data.pk, event.data.counter]);
  }
  assert.equal(positions.size, count, 'no position twice');
  return out;
}

describe('after a full prune', () => {
  for (const how of ['rows', 'time'] as const) {
    test(`(${how === 'rows' ? 'row bound 0' : 'retention 0'}) the head resumes; later writes reach live and resumed subscribers once, in order; older positions are 410`, async () => {
      const writer = await open();
      const live = await open();
      const p0 = (await live.request({ action: 'subscribe_many', request_id: 'live', since: 'latest' })).data.position as string;
      const row = (await writer.request({ action: 'create', data: { name: `pruned-${how}` }, request_id: 1 })).data;
      await writer.request({ action: 'patch', pk: row.pk, data: { counter: 1 }, request_id: 2 });
      assert.deepEqual(await events(live, 'live', 2), [
        ['create', row.pk, 0],
        ['update', row.pk, 1],
      ]);

      await pruneAll(how);
      const reader = await open();
      const head = (await reader.request({ action: 'list', request_id: 'h', with_position: true })).position as string;
      const expired = await reader.request({ action: 'subscribe_many', request_id: 'old', since: p0 });
      assert.deepEqual(
        [expired.response_status, expired.data.position],
        [410, head],
        'a position before the prune is expired; the head is told',
      );
      const resumed = await reader.request({ action: 'subscribe_many', request_id: 'resumed', since: head });
      assert.equal(resumed.response_status, 201, JSON.stringify(resumed));

      await writer.request({ action: 'patch', pk: row.pk, data: { counter: 2 }, request_id: 3 });
      await writer.request({ action: 'patch', pk: row.pk, data: { counter: 3 }, request_id: 4 });
      const other = (await writer.request({ action: 'create', data: { name: `after-${how}` }, request_id: 5 })).data;
      const expected: Array<[string, unknown, unknown]> = [
        ['update', row.pk, 2],
        ['update', row.pk, 3],
        ['create', other.pk, 0],
      ];
      assert.deepEqual(await events(live, 'live', 3), expected, 'the live subscription goes on in commit order');
      assert.deepEqual(await events(reader, 'resumed', 3), expected, 'the subscription resumed at the head gets the same, once');
      assert.ok(await live.quiet(300));
      assert.ok(await reader.quiet(300));

      // A client that kept the head and comes back later resumes from it: exactly what followed.
      const again = await open();
      const answer = await again.request({ action: 'subscribe_many', request_id: 'again', since: head });
      assert.equal(answer.response_status, 201, JSON.stringify(answer));
      assert.deepEqual(await events(again, 'again', 3), expected);
      for (const socket of [writer, live, reader, again]) socket.close();
    });
  }

  test('another process on the same database: its head after the prune resumes (not a position before it)', async () => {
    const other: Knex = knexFactory({ ...(app.knex.client.config as Knex.Config) });
    const runtime = await Runtime.create({ knex: other });
    try {
      const before = await runtime.changeLog.head();
      const writer = await open();
      await writer.request({ action: 'create', data: { name: 'elsewhere' }, request_id: 1 });
      await pruneAll('rows');
      const head = await runtime.changeLog.head();
      assert.notEqual(head, before, 'the head moved past what was pruned');
      await runtime.changeLog.check(head);
      assert.equal(head, await app.runtime.changeLog.head(), 'both processes tell the same head');
      writer.close();
    } finally {
      await runtime.close();
      await other.destroy();
    }
  });
});

describe('settings', () => {
  test('the library takes its retention from options, never from the environment', async () => {
    const other: Knex = knexFactory({ ...(app.knex.client.config as Knex.Config) });
    process.env.CHANGE_LOG_RETENTION = '5s';
    process.env.CHANGE_LOG_MAX_ROWS = '7';
    try {
      const defaults = await Runtime.create({ knex: other });
      assert.deepEqual([defaults.changeLog.retentionMs, defaults.changeLog.maxRows], [24 * 3600_000, 1_000_000]);
      await defaults.close();
      const given = await Runtime.create({ knex: other, changeLogRetentionMs: 90_000, changeLogMaxRows: 10 });
      assert.deepEqual([given.changeLog.retentionMs, given.changeLog.maxRows], [90_000, 10]);
      await given.close();
      await assert.rejects(Runtime.create({ knex: other, changeLogMaxRows: -1 }), /changeLogMaxRows` must be a number ≥ 0/);
      await assert.rejects(Runtime.create({ knex: other, changeLogRetentionMs: Number.NaN }), /changeLogRetentionMs` must be a number ≥ 0/);
    } finally {
      delete process.env.CHANGE_LOG_RETENTION;
      delete process.env.CHANGE_LOG_MAX_ROWS;
      await other.destroy();
    }
  });
});
