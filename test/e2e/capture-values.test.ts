/**
 * The row a capture trigger logs is the row the ORM path logs (what the app's knex reads, as JSON), for
 * the column types docs/capture.md lists as equal: on PostgreSQL integer, bigint, numeric, boolean,
 * text, jsonb, date, timestamptz and NULLs; on SQLite INTEGER, TEXT, REAL and NULLs. A table of its own,
 * made and captured by this test on the app's database.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { installCapture } from '../../src/events/capture/migration.js';
import { LiveModel } from '../../src/models/live-model.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

class CaptureValue extends LiveModel {
  static override tableName = 'capture_values';
  static override capture = 'database' as const;
}

let app: TestApp;
let postgres: boolean;
before(async () => {
  app = await startTestApp();
  postgres = Boolean(process.env.TEST_DATABASE_URL);
  const knex = app.knex;
  await knex.schema.createTable('capture_values', (t) => {
    t.increments('id').primary();
    t.integer('small');
    t.text('label');
    if (postgres) {
      t.bigInteger('big');
      t.decimal('amount', 10, 2);
      t.boolean('flag');
      t.jsonb('doc');
      t.date('day');
      t.timestamp('at', { useTz: true, precision: 6 });
    } else {
      t.double('ratio');
    }
  });
  await installCapture(knex, [CaptureValue]);
});
after(async () => {
  await app.close();
});

/** The row as the app's knex reads it, and as the trigger logged it (its latest entry). */
async function bothSides(id: number): Promise<[unknown, unknown]> {
  const row = await app.knex('capture_values').where({ id }).first();
  const entry = (await app.knex('dcrf_change_log').where({ model: 'CaptureValue' }).orderBy('seq', 'desc').first()) as {
    row_data: string;
    pk: string;
  };
  assert.equal(entry.pk, JSON.stringify(row.id), 'the primary key as the ORM path logs it');
  return [JSON.parse(entry.row_data), JSON.parse(JSON.stringify(row))];
}

test('a raw INSERT and UPDATE log the row as the ORM path reads it', async () => {
  const values = postgres
    ? "(small, label, big, amount, flag, doc, day, at) values (7, 'it''s', 9007199254740993, 12.50, true, '{\"a\": [1, \"x\"]}', '2024-02-29', '2024-02-29 23:59:58.123456+00')"
    : "(small, label, ratio) values (7, 'it''s', 2.5)";
  await app.knex.raw(`insert into capture_values ${values}`);
  const { id } = (await app.knex('capture_values').max({ id: 'id' }).first()) as { id: number };
  const [logged, read] = await bothSides(Number(id));
  assert.deepEqual(logged, read);

  await app.knex('capture_values').where({ id }).update({ label: null, small: null });
  const [loggedNull, readNull] = await bothSides(Number(id));
  assert.deepEqual(loggedNull, readNull);
});
