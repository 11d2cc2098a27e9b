/**
 * SQLite's change-log sequence (docs/positions.md, "Set-up"): `seq` is the table's rowid key, not
 * AUTOINCREMENT, so a new entry takes the largest `seq` plus one; pruning never takes the newest entry,
 * so no sequence number is given twice; `changeLogRowidMigration` moves a log of an earlier version
 * (AUTOINCREMENT) to that shape with its entries and positions, and gives a log pruned empty a new
 * epoch. PostgreSQL's log takes its numbers from a sequence: nothing of this applies there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { demoMigrations, openDemoDatabase } from '../../src/demo/app.js';
import { Thing } from '../../src/demo/models.js';
import { thingResource } from '../../src/demo/resources.js';
import { migrate } from '../../src/db/migrations.js';
import { CHANGE_LOG_META_TABLE, CHANGE_LOG_TABLE, changeLogRowidMigration, PositionError } from '../../src/events/change-log.js';
import { resourceCall } from '../../src/resources/resource.js';
import { Runtime } from '../../src/runtime.js';
import type { ConnectionScope } from '../../src/scope.js';

const skip = process.env.TEST_DATABASE_URL ? 'SQLite pass only: PostgreSQL numbers its log with a sequence' : false;

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-log-sequence-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A demo database with one Thing, its runtime, and a patch through the resource (the table's trigger logs it). */
async function demo(name: string) {
  const knex = await openDemoDatabase(`sqlite:${path.join(dir, `${name}.sqlite3`)}`);
  let runtime = await Runtime.create({ knex });
  const [thing] = (await Thing.query(knex).insert([{ name: 'numbered' }])) as unknown as Thing[];
  let counter = 0;
  return {
    knex,
    get runtime() {
      return runtime;
    },
    /** Patches the Thing; resolves once its entry is in the log. */
    patch: () =>
      thingResource.patch(resourceCall({ user: null, runtime, extra: {} } as unknown as ConnectionScope), thing!.id, {
        counter: ++counter,
      }),
    seqs: async () => (await knex(CHANGE_LOG_TABLE).orderBy('seq').select('seq')).map((row) => Number(row.seq)),
    async reopen() {
      await runtime.close();
      runtime = await Runtime.create({ knex });
    },
    async close() {
      await runtime.close();
      await knex.destroy();
    },
  };
}

async function tableSql(knex: Knex): Promise<string> {
  const [row] = (await knex.raw("select sql from sqlite_master where type = 'table' and name = ?", [CHANGE_LOG_TABLE])) as Array<{
    sql: string;
  }>;
  return row!.sql;
}

/** Turns the log back into the shape an earlier version made (seq AUTOINCREMENT, its counter at `issued`) and forgets the migration. */
async function makeEarlierShape(knex: Knex, issued?: number): Promise<void> {
  await knex.raw('pragma legacy_alter_table = on');
  await knex.raw(`alter table ${CHANGE_LOG_TABLE} rename to earlier_log`);
  await knex.raw(
    `create table ${CHANGE_LOG_TABLE} (seq integer not null primary key autoincrement, model varchar(200) not null, pk text not null, ` +
      'action varchar(8) not null, before_row text, row_data text not null, committed_at bigint not null)',
  );
  await knex.raw(`insert into ${CHANGE_LOG_TABLE} select * from earlier_log`);
  await knex.raw('drop table earlier_log');
  await knex.raw('pragma legacy_alter_table = off');
  if (issued !== undefined) {
    await knex.raw('delete from sqlite_sequence where name = ?', [CHANGE_LOG_TABLE]);
    await knex.raw('insert into sqlite_sequence (name, seq) values (?, ?)', [CHANGE_LOG_TABLE, issued]);
  }
  await knex('knex_migrations').where({ name: changeLogRowidMigration.name }).delete();
}

const epochOf = async (knex: Knex) => String((await knex(CHANGE_LOG_META_TABLE).first('epoch'))!.epoch);

describe('the change log sequence on SQLite', { skip }, () => {
  test('a new log numbers entries with the rowid key (no AUTOINCREMENT); a prune of everything keeps the newest; appends continue after it', async () => {
    const app = await demo('fresh');
    try {
      assert.doesNotMatch(await tableSql(app.knex), /autoincrement/i);
      const watching = await app.runtime.hub.subscribe(app.runtime.hub.modelTopic('Thing'), () => undefined, 'Thing');
      const before = (await app.seqs()).length;
      for (let i = 0; i < 3; i++) await app.patch();
      const written = await app.seqs();
      assert.equal(written.length, before + 3, 'one entry per patch');
      const newest = written.at(-1)!;
      const log = app.runtime.hub.changeLog!;
      const everything = Object.create(log, { maxRows: { value: 0 } }) as typeof log;
      assert.equal(await everything.prune(), written.length - 1, 'all but the newest entry');
      assert.deepEqual(await app.seqs(), [newest]);
      assert.equal(await everything.prune(), 0, 'the newest entry stays through every prune');
      const head = await log.head();
      await app.patch();
      assert.deepEqual(await app.seqs(), [newest, newest + 1], 'the next entry continues after the newest');
      await log.check(head);
      assert.deepEqual(
        (await log.read(newest, newest + 1)).map((entry) => entry.seq),
        [newest + 1],
        'read after the head: the new entry',
      );
      watching();
    } finally {
      await app.close();
    }
  });

  test('a log of an earlier version (AUTOINCREMENT) moves to the rowid key: entries, epoch and positions kept, appends continue, the triggers still log', async () => {
    const app = await demo('earlier');
    try {
      const watching = await app.runtime.hub.subscribe(app.runtime.hub.modelTopic('Thing'), () => undefined, 'Thing');
      for (let i = 0; i < 4; i++) await app.patch();
      watching();
      const position = await app.runtime.hub.changeLog!.head();
      const entries = await app.knex(CHANGE_LOG_TABLE).orderBy('seq');
      const epoch = await epochOf(app.knex);
      await makeEarlierShape(app.knex);
      assert.match(await tableSql(app.knex), /autoincrement/i);

      assert.deepEqual(await migrate(app.knex, demoMigrations), [changeLogRowidMigration.name]);
      assert.doesNotMatch(await tableSql(app.knex), /autoincrement/i);
      assert.deepEqual(await app.knex(CHANGE_LOG_TABLE).orderBy('seq'), entries, 'every entry as it was');
      assert.equal(await epochOf(app.knex), epoch, 'the same epoch');
      await app.reopen();
      await app.runtime.changeLog.check(position);
      const stop = await app.runtime.hub.subscribe(app.runtime.hub.modelTopic('Thing'), () => undefined, 'Thing');
      await app.patch();
      stop();
      const seqs = await app.seqs();
      assert.equal(seqs.length, entries.length + 1, "the table's trigger logs into the new table");
      assert.equal(seqs.at(-1), Number(entries.at(-1)!.seq) + 1, 'the next entry continues after the newest');
      assert.deepEqual(await migrate(app.knex, demoMigrations), [], 'applied once');
    } finally {
      await app.close();
    }
  });

  test('a log of an earlier version pruned empty takes a new epoch: its positions are expired, the new entries resume from the new head', async () => {
    const app = await demo('emptied');
    try {
      const watching = await app.runtime.hub.subscribe(app.runtime.hub.modelTopic('Thing'), () => undefined, 'Thing');
      for (let i = 0; i < 2; i++) await app.patch();
      watching();
      const position = await app.runtime.hub.changeLog!.head();
      const issued = (await app.seqs()).at(-1)!;
      const epoch = await epochOf(app.knex);
      await makeEarlierShape(app.knex, issued);
      // Pruned empty by the earlier version: no entries, the counter and pruned_through at the last one.
      await app.knex(CHANGE_LOG_TABLE).delete();
      await app.knex(CHANGE_LOG_META_TABLE).update({ pruned_through: issued });

      await migrate(app.knex, demoMigrations);
      assert.notEqual(await epochOf(app.knex), epoch, 'a new epoch');
      assert.equal(Number((await app.knex(CHANGE_LOG_META_TABLE).first('pruned_through'))!.pruned_through), 0);
      await app.reopen();
      await assert.rejects(app.runtime.changeLog.check(position), (error) => error instanceof PositionError && error.kind === 'expired');
      const head = await app.runtime.changeLog.head();
      const events: unknown[] = [];
      const stop = await app.runtime.hub.subscribeFrom(
        app.runtime.hub.modelTopic('Thing'),
        (message) => events.push(message),
        'Thing',
        head,
      );
      await app.patch();
      const deadline = Date.now() + 5000;
      while (events.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(events.length, 1, 'the change after the new head is delivered to a subscription resumed from it');
      stop();
    } finally {
      await app.close();
    }
  });
});
