/**
 * A model that says `capture = 'database'` on a database without its triggers (the capture migration
 * step undone, or never run there): the runtime falls back to the model's ORM hooks, so a write through
 * the gateway is still exactly one event (none lost, none doubled), while a table whose triggers are in
 * place (classrooms) stays captured by the database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDemoDatabase } from '../../src/demo/app.js';
import { Product, Thing } from '../../src/demo/models.js';
import { installCapture, removeCapture } from '../../src/events/capture/migration.js';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { openRawWriter, type RawWriter } from '../helpers/raw-writer.js';

let app: TestApp;
let raw: RawWriter;
let database: TestDatabase | undefined;
let dir: string | undefined;
before(async () => {
  // A database migrated like the demo's, then with the things triggers removed (the migration stays applied).
  let url: string;
  if (process.env.TEST_DATABASE_URL) {
    database = await createTestDatabase(process.env.TEST_DATABASE_URL);
    url = database.url;
  } else {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-capture-fallback-'));
    url = `sqlite:${path.join(dir, 'db.sqlite3')}`;
  }
  const knex = await openDemoDatabase(url);
  await removeCapture(knex, [Thing]);
  await knex.destroy();
  app = await startTestApp({ env: { DATABASE_URL: url } });
  raw = await openRawWriter(app.knex);
});
after(async () => {
  await raw.close();
  await app.close();
  await database?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('things without triggers: the ORM hooks capture them, one event per gateway write', async () => {
  assert.deepEqual([...app.runtime.databaseCapture.tables.keys()], ['Classroom']);
  const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const writer = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  assert.equal((await socket.request({ action: 'subscribe_many', request_id: 'm' })).response_status, 201);
  const created = (await writer.request({ action: 'create', data: { name: 'hooked' }, request_id: 1 })).data;
  assert.deepEqual(await socket.next(5000), reply('create', { pk: created.pk, name: 'hooked', counter: 0 }, 200, 'm'));
  await writer.request({ action: 'patch', pk: created.pk, data: { counter: 1 }, request_id: 2 });
  assert.deepEqual(await socket.next(5000), reply('update', { pk: created.pk, name: 'hooked', counter: 1 }, 200, 'm'));
  assert.ok(await socket.quiet(600), 'one event per write');
  const [{ count }] = await raw.query<{ count: unknown }>("select count(*) as count from dcrf_change_log where model = 'Thing'");
  assert.equal(Number(count), 2, 'logged once each, by the hooks');
  socket.close();
  writer.close();
});

test('classrooms keep their triggers: a raw write is an event', async () => {
  await raw.query("insert into schools (name) values ('fallback school')");
  const [school] = await raw.query<{ id: unknown }>("select id from schools where name = 'fallback school'");
  const socket = await TestSocket.open(`${app.wsUrl}/ws/classrooms/`);
  const schoolId = Number(school!.id);
  assert.equal(
    (await socket.request({ action: 'subscribe_to_classrooms_in_school', school_pk: schoolId, request_id: 's' })).response_status,
    201,
  );
  await raw.query('insert into classrooms (name, school) values (?, ?)', ['raw room', schoolId]);
  const frame = await socket.next(5000);
  assert.deepEqual(frame, reply('create', { id: frame.data.id, name: 'raw room', school: schoolId }, 200, 's'));
  socket.close();
});

test('a model whose events embed related rows (selectRelated) is refused database capture, with the reason', async () => {
  const wanting = class extends Product {
    static override capture = 'database' as const;
  };
  await assert.rejects(installCapture(app.knex, [wanting]), /database capture cannot embed related rows \(selectRelated\)/);
  const [{ count }] = await raw.query<{ count: unknown }>("select count(*) as count from dcrf_capture where table_name = 'products'");
  assert.equal(Number(count), 0, 'nothing installed');
});
