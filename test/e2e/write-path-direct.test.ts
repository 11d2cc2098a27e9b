/**
 * The direct writes on SQLite (resources/direct-write.ts: a patch's UPDATE, a create's INSERT, a delete's
 * DELETE, each in a transaction on the connection) keep what the ORM's statements give:
 * an app with two models the database captures, one plain (its patches take the direct UPDATE on
 * SQLite) and one with an instance hook (`$beforeUpdate`: always the ORM's UPDATE). Both passes run
 * every test: on PostgreSQL both models take the ORM path, and the answers must be the same.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  captureMigration,
  changeLogMigration,
  createApp,
  GenericAsyncAPIConsumer,
  LiveModel,
  loadConfig,
  sqliteBusyStats,
  modelSerializer,
  ObserverModelInstanceMixin,
  PatchModelMixin,
  RetrieveModelMixin,
  UpdateModelMixin,
  CreateModelMixin,
  DeleteModelMixin,
  BasePermission,
  FieldError,
  type ConnectionScope,
  type Row,
  type ValidationContext,
} from '../../src/index.js';
import type { App } from '../../src/app.js';
import { reply, TestSocket } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase, uniqueRedisPrefix } from '../helpers/postgres.js';
import { openRawWriter, type RawWriter } from '../helpers/raw-writer.js';
import { CAPTURE_CHANNEL } from '../../src/events/capture/postgres-triggers.js';

const schema = {
  type: 'object',
  required: ['label'],
  properties: {
    id: { type: 'integer' },
    label: { type: 'string', maxLength: 20 },
    qty: { type: 'integer' },
    stamp: { type: 'string' },
    done: { type: 'boolean' },
    due: { type: ['string', 'null'], format: 'date-time' },
  },
};

/** Captured by the database, nothing of its own around a write. */
class Plain extends LiveModel {
  static override tableName = 'wp_plain';
  static override capture = 'database' as const;
  static override jsonSchema = schema;
}

/** Captured by the database, with an instance hook that stamps every update. */
class Stamped extends LiveModel {
  static override tableName = 'wp_stamped';
  static override capture = 'database' as const;
  static override jsonSchema = schema;
  declare stamp: string;
  override $beforeUpdate(): void {
    this.stamp = 'hooked';
  }
}

const Crud = ObserverModelInstanceMixin(
  DeleteModelMixin(PatchModelMixin(UpdateModelMixin(CreateModelMixin(RetrieveModelMixin(GenericAsyncAPIConsumer))))),
);
const fields = ['id', 'label', 'qty', 'stamp'];
class PlainConsumer extends Crud {
  static override queryset = Plain;
  static override serializerClass = modelSerializer(Plain, { fields });
}
class StampedConsumer extends Crud {
  static override queryset = Stamped;
  static override serializerClass = modelSerializer(Stamped, { fields });
}

/** A uniqueness check (`unique`): validation queries the table through the write's transaction. */
class UniqueLabelConsumer extends Crud {
  static override queryset = Plain;
  static override serializerClass = modelSerializer(Plain, { fields, unique: ['label'] });
}

/** A `validate` of the app's own asking the database through `context.trx`: no label a Stamped row has. */
class CrossCheckedSerializer extends modelSerializer(Plain, { fields }) {
  override async validate(values: Row, context: ValidationContext): Promise<Row> {
    if (
      values.label !== undefined &&
      (await Stamped.query(context.trx)
        .where('label', values.label as string)
        .first())
    )
      throw new FieldError(['A stamped row has this label.']);
    return values;
  }
}
class CrossCheckedConsumer extends Crud {
  static override queryset = Plain;
  static override serializerClass = CrossCheckedSerializer;
}

/** A boolean and a date-time beside the text and numbers: values whose bindings differ per database. */
const typedFields = [...fields, 'done', 'due'];
class TypedConsumer extends Crud {
  static override queryset = Plain;
  static override serializerClass = modelSerializer(Plain, { fields: typedFields });
}
/** The same fields through the knex path: its validation reads `context.trx` (and so always runs in a knex transaction). */
class TypedThroughKnexSerializer extends modelSerializer(Plain, { fields: typedFields }) {
  override validate(values: Row, context: ValidationContext): Row {
    if (!context.trx) throw new Error('no transaction');
    return values;
  }
}
class TypedThroughKnexConsumer extends Crud {
  static override queryset = Plain;
  static override serializerClass = TypedThroughKnexSerializer;
}

/** An object rule on the row the patch read: a row labelled "locked" is nobody's to change. */
class NotLocked extends BasePermission {
  override hasObjectPermission(_scope: ConnectionScope, object: Row): boolean {
    return object.label !== 'locked';
  }
}
class GuardedConsumer extends Crud {
  static override queryset = Plain;
  static override serializerClass = modelSerializer(Plain, { fields });
  static override permissionClasses = [NotLocked];
}

const tables = {
  name: '0001-wp-tables',
  async up(knex: import('knex').Knex) {
    for (const name of ['wp_plain', 'wp_stamped']) {
      await knex.schema.createTable(name, (table) => {
        table.increments('id');
        table.string('label', 20).notNullable();
        table.integer('qty').notNullable().defaultTo(0);
        table.string('stamp').notNullable().defaultTo('');
        table.boolean('done').notNullable().defaultTo(false);
        table.timestamp('due', { useTz: true }).nullable();
        // The database refuses what the serializer lets through: a write that fails after validation.
        table.check('?? >= 0', ['qty'], `${name}_qty_check`);
      });
    }
  },
};

let app: App;
let url: string;
let raw: RawWriter;
let database: TestDatabase | undefined;
let dir: string | undefined;
before(async () => {
  database = process.env.TEST_DATABASE_URL ? await createTestDatabase(process.env.TEST_DATABASE_URL) : undefined;
  if (!database) dir = fs.mkdtempSync(path.join(os.tmpdir(), 'write-path-direct-'));
  app = await createApp({
    database: database?.url ?? `sqlite:${path.join(dir!, 'db.sqlite3')}`,
    redis: process.env.TEST_REDIS_URL,
    redisPrefix: uniqueRedisPrefix(),
    streams: {
      plain: PlainConsumer,
      stamped: StampedConsumer,
      unique: UniqueLabelConsumer,
      crosschecked: CrossCheckedConsumer,
      guarded: GuardedConsumer,
      typed: TypedConsumer,
      typedknex: TypedThroughKnexConsumer,
    },
    migrations: [tables, changeLogMigration, captureMigration('0002-wp-capture', [Plain, Stamped])],
    config: loadConfig({}),
  });
  url = (await app.listen({ port: 0 })).url.replace('http', 'ws');
  raw = await openRawWriter(app.knex!);
});
after(async () => {
  await raw.close();
  await app.close();
  await database?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new row on `stream`, a writer socket and a watcher subscribed to the row. */
async function row(stream: string, label: string) {
  const writer = await TestSocket.open(`${url}/ws/${stream}`);
  const created = await writer.request({ action: 'create', data: { label }, request_id: 'c' });
  assert.equal(created.response_status, 201, JSON.stringify(created));
  const watcher = await TestSocket.open(`${url}/ws/${stream}`);
  const pk = created.data.id as number;
  assert.equal((await watcher.request({ action: 'subscribe_instance', pk, request_id: 'w' })).response_status, 201);
  return {
    pk,
    writer,
    watcher,
    close() {
      writer.close();
      watcher.close();
    },
  };
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function logged(table: string): Promise<number> {
  const model = table === 'wp_plain' ? 'Plain' : 'Stamped';
  const [{ count }] = (await raw.query<{ count: unknown }>('select count(*) as count from dcrf_change_log where model = ?', [model])) as [
    { count: unknown },
  ];
  return Number(count);
}

describe('a patch of a model the database captures', () => {
  test('both models are captured by the database', () => {
    assert.deepEqual([...app.runtime!.databaseCapture.tables.keys()].sort(), ['Plain', 'Stamped']);
  });

  test('a plain model: the reply, the one event and a retrieve agree; update (PUT) too', async () => {
    const { pk, writer, watcher, close } = await row('plain', 'first');
    try {
      const patched = await writer.request({ action: 'patch', pk, data: { qty: 3 }, request_id: 1 });
      assert.deepEqual(patched, reply('patch', { id: pk, label: 'first', qty: 3, stamp: '' }, 200, 1));
      const event = await watcher.next(5000);
      assert.deepEqual([event.action, event.data], ['update', patched.data]);
      const updated = await writer.request({ action: 'update', pk, data: { label: 'second', qty: 4 }, request_id: 2 });
      assert.deepEqual(updated, reply('update', { id: pk, label: 'second', qty: 4, stamp: '' }, 200, 2));
      assert.deepEqual((await watcher.next(5000)).data, updated.data);
      assert.ok(await watcher.quiet(600), 'one event per write');
      assert.deepEqual((await writer.request({ action: 'retrieve', pk, request_id: 3 })).data, updated.data);
    } finally {
      close();
    }
  });

  test('a model with an instance hook takes the ORM path: the hook runs, its value is in the reply and the event', async () => {
    const { pk, writer, watcher, close } = await row('stamped', 'hooked row');
    try {
      const patched = await writer.request({ action: 'patch', pk, data: { qty: 5 }, request_id: 1 });
      assert.deepEqual(patched, reply('patch', { id: pk, label: 'hooked row', qty: 5, stamp: 'hooked' }, 200, 1));
      assert.deepEqual((await watcher.next(5000)).data, patched.data);
    } finally {
      close();
    }
  });

  test("input the model's schema refuses (label over maxLength 20) is a 400 with the field's error; nothing written, no event", async () => {
    for (const stream of ['plain', 'stamped']) {
      const { pk, writer, watcher, close } = await row(stream, 'valid');
      try {
        const before = await logged(`wp_${stream}`);
        const refused = await writer.request({ action: 'patch', pk, data: { label: 'x'.repeat(21), qty: 9 }, request_id: 1 });
        assert.deepEqual(refused, reply('patch', null, 400, 1, [{ label: ['Ensure this field has no more than 20 characters.'] }]), stream);
        assert.ok(await watcher.quiet(600), `${stream}: no event`);
        assert.equal(await logged(`wp_${stream}`), before, `${stream}: nothing logged`);
        assert.deepEqual((await writer.request({ action: 'retrieve', pk, request_id: 2 })).data.qty, 0, `${stream}: nothing written`);
      } finally {
        close();
      }
    }
  });

  test('a write the database refuses (a CHECK) rolls back: the same answer on both paths, nothing written or logged, no event', async () => {
    const answers: unknown[] = [];
    for (const stream of ['plain', 'stamped']) {
      const { pk, writer, watcher, close } = await row(stream, 'checked');
      try {
        const before = await logged(`wp_${stream}`);
        const refused = await writer.request({ action: 'patch', pk, data: { label: 'changed', qty: -1 }, request_id: 1 });
        assert.notEqual(refused.response_status, 200, JSON.stringify(refused));
        answers.push({ status: refused.response_status, errors: refused.errors });
        assert.ok(await watcher.quiet(600), `${stream}: no event`);
        assert.equal(await logged(`wp_${stream}`), before, `${stream}: nothing logged`);
        const now = (await writer.request({ action: 'retrieve', pk, request_id: 2 })).data;
        assert.deepEqual([now.label, now.qty], ['checked', 0], `${stream}: nothing written`);
        // The connection is usable after the rollback: the next patch goes through.
        assert.equal((await writer.request({ action: 'patch', pk, data: { qty: 1 }, request_id: 3 })).response_status, 200);
        assert.equal((await watcher.next(5000)).data.qty, 1);
      } finally {
        close();
      }
    }
    assert.deepEqual(answers[0], answers[1], 'the direct UPDATE answers as the ORM does');
  });

  test('a uniqueness check in validation still sees the table: a taken label is a 400, a free one is written, again and again', async () => {
    const taken = await row('unique', 'taken label');
    const { pk, writer, watcher, close } = await row('unique', 'mine');
    try {
      for (let round = 0; round < 2; round++) {
        const before = await logged('wp_plain');
        const refused = await writer.request({ action: 'patch', pk, data: { label: 'taken label' }, request_id: `r${round}` });
        assert.deepEqual(refused, reply('patch', null, 400, `r${round}`, [{ label: ['plain with this label already exists.'] }]));
        assert.equal(await logged('wp_plain'), before, 'nothing logged');
        const patched = await writer.request({
          action: 'patch',
          pk,
          data: { label: `free ${round}`, qty: round },
          request_id: `p${round}`,
        });
        assert.deepEqual(patched, reply('patch', { id: pk, label: `free ${round}`, qty: round, stamp: '' }, 200, `p${round}`));
        assert.deepEqual((await watcher.next(5000)).data, patched.data);
        assert.ok(await watcher.quiet(300), 'one event per write');
      }
    } finally {
      close();
      taken.close();
    }
  });

  test("a validate() of the app's own querying context.trx gets the write's transaction: its answer, then a write", async () => {
    const stamped = await row('stamped', 'stamped label');
    const { pk, writer, watcher, close } = await row('crosschecked', 'plain label');
    try {
      for (let round = 0; round < 2; round++) {
        const refused = await writer.request({ action: 'patch', pk, data: { label: 'stamped label' }, request_id: `r${round}` });
        assert.deepEqual(refused, reply('patch', null, 400, `r${round}`, [{ non_field_errors: ['A stamped row has this label.'] }]));
        const patched = await writer.request({ action: 'patch', pk, data: { qty: round + 1 }, request_id: `p${round}` });
        assert.equal(patched.data.qty, round + 1, JSON.stringify(patched));
        assert.deepEqual((await watcher.next(5000)).data, patched.data);
      }
    } finally {
      close();
      stamped.close();
    }
  });

  test('an object permission judges the row the patch read: a locked row is a 403, nothing written; another row is patched', async () => {
    // Made and watched on the stream without the rule (which also refuses a subscription to a locked row).
    const locked = await row('plain', 'locked');
    const open = await row('plain', 'open');
    const guarded = await TestSocket.open(`${url}/ws/guarded`);
    try {
      const before = await logged('wp_plain');
      const refused = await guarded.request({ action: 'patch', pk: locked.pk, data: { qty: 8 }, request_id: 1 });
      assert.deepEqual(refused, reply('patch', null, 403, 1, ['You do not have permission to perform this action.']));
      assert.ok(await locked.watcher.quiet(300), 'no event');
      assert.equal(await logged('wp_plain'), before, 'nothing logged');
      const patched = await guarded.request({ action: 'patch', pk: open.pk, data: { qty: 8 }, request_id: 2 });
      assert.equal(patched.response_status, 200, JSON.stringify(patched));
      assert.equal((await open.watcher.next(5000)).data.qty, 8);
    } finally {
      guarded.close();
      locked.close();
      open.close();
    }
  });

  test('a create: the reply is the row as stored, one create event with it, a retrieve agrees; a delete: one delete event, then 404', async () => {
    const hub = app.runtime!.hub;
    const events: Array<{ action: unknown; data: unknown }> = [];
    const stop = await hub.subscribe(hub.modelTopic('Plain'), (message) => events.push(message as never), 'Plain');
    const writer = await TestSocket.open(`${url}/ws/plain`);
    try {
      const before = await logged('wp_plain');
      const created = await writer.request({ action: 'create', data: { label: 'made', qty: 2 }, request_id: 'c' });
      assert.equal(created.response_status, 201, JSON.stringify(created));
      assert.deepEqual(created.data, { id: created.data.id, label: 'made', qty: 2, stamp: '' }, 'the defaults the table filled in');
      assert.deepEqual((await writer.request({ action: 'retrieve', pk: created.data.id, request_id: 'r' })).data, created.data);
      const watcher = await TestSocket.open(`${url}/ws/plain`);
      assert.equal((await watcher.request({ action: 'subscribe_instance', pk: created.data.id, request_id: 'w' })).response_status, 201);
      const deleted = await writer.request({ action: 'delete', pk: created.data.id, request_id: 'd' });
      assert.deepEqual([deleted.response_status, deleted.data], [204, null], JSON.stringify(deleted));
      const gone = await watcher.next(5000);
      assert.deepEqual([gone.action, gone.data], ['delete', { pk: created.data.id }]);
      watcher.close();
      assert.equal((await writer.request({ action: 'retrieve', pk: created.data.id, request_id: 'r2' })).response_status, 404);
      assert.equal((await writer.request({ action: 'delete', pk: created.data.id, request_id: 'd2' })).response_status, 404);
      await waitFor(() => events.length >= 2);
      assert.deepEqual(
        // The event carries the whole row; the reply, the serializer's fields.
        events.map((event) => [event.action, Object.fromEntries(fields.map((name) => [name, (event.data as Row)[name]]))]),
        [
          ['create', created.data],
          ['delete', created.data],
        ],
      );
      assert.equal(await logged('wp_plain'), before + 2, 'one log entry per write');
    } finally {
      stop();
      writer.close();
    }
  });

  test('a create the database refuses (a CHECK) rolls back, nothing written or logged; a create whose label is taken is a 400', async () => {
    const taken = await row('unique', 'taken on create');
    const writer = await TestSocket.open(`${url}/ws/unique`);
    try {
      const before = await logged('wp_plain');
      const checked = await writer.request({ action: 'create', data: { label: 'negative', qty: -1 }, request_id: 1 });
      assert.notEqual(checked.response_status, 201, JSON.stringify(checked));
      const duplicate = await writer.request({ action: 'create', data: { label: 'taken on create' }, request_id: 2 });
      assert.deepEqual(duplicate, reply('create', null, 400, 2, [{ label: ['plain with this label already exists.'] }]));
      assert.equal(await logged('wp_plain'), before, 'nothing logged');
      const [{ count }] = (await raw.query<{ count: unknown }>("select count(*) as count from wp_plain where label = 'negative'")) as [
        { count: unknown },
      ];
      assert.equal(Number(count), 0, 'nothing written');
      const made = await writer.request({ action: 'create', data: { label: 'free on create' }, request_id: 3 });
      assert.equal(made.response_status, 201, JSON.stringify(made));
    } finally {
      writer.close();
      taken.close();
    }
  });

  test('an object permission judges the row a delete read: a locked row is a 403 and stays', async () => {
    const locked = await row('plain', 'locked');
    const guarded = await TestSocket.open(`${url}/ws/guarded`);
    try {
      const refused = await guarded.request({ action: 'delete', pk: locked.pk, request_id: 1 });
      assert.deepEqual(refused, reply('delete', null, 403, 1, ['You do not have permission to perform this action.']));
      assert.ok(await locked.watcher.quiet(300), 'no event');
      assert.equal((await locked.writer.request({ action: 'retrieve', pk: locked.pk, request_id: 2 })).response_status, 200);
    } finally {
      guarded.close();
      locked.close();
    }
  });

  test('one process, two apps on different databases: the direct writes of each run in its own SQL', {
    skip: !process.env.TEST_DATABASE_URL && 'PostgreSQL pass only (its app beside a SQLite one)',
  }, async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'write-path-direct-sqlite-'));
    const sqliteApp = await createApp({
      database: `sqlite:${path.join(other, 'db.sqlite3')}`,
      streams: { plain: PlainConsumer },
      migrations: [tables, changeLogMigration, captureMigration('0002-wp-capture', [Plain, Stamped])],
      config: loadConfig({}),
    });
    const sqliteUrl = (await sqliteApp.listen({ port: 0 })).url.replace('http', 'ws');
    try {
      for (let round = 0; round < 2; round++) {
        // SQLite first, with columns no earlier test wrote: its statements are made before PostgreSQL's.
        for (const base of [sqliteUrl, url]) {
          const socket = await TestSocket.open(`${base}/ws/plain`);
          const created = await socket.request({ action: 'create', data: { label: `both ${round}`, qty: 1, stamp: 's' }, request_id: 'c' });
          assert.equal(created.response_status, 201, JSON.stringify(created));
          const patched = await socket.request({ action: 'patch', pk: created.data.id, data: { qty: 3 }, request_id: 'p' });
          assert.equal(patched.data.qty, 3, JSON.stringify(patched));
          assert.equal((await socket.request({ action: 'delete', pk: created.data.id, request_id: 'd' })).response_status, 204);
          socket.close();
        }
      }
    } finally {
      await sqliteApp.close();
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  test('a read after a write on the same socket sees it, even when both arrive in one turn behind a read', async () => {
    const { pk, writer, close } = await row('plain', 'read your writes');
    try {
      for (let round = 1; round <= 5; round++) {
        // One burst: a read (its snapshot), the write, and a read that must not come from that snapshot.
        writer.send({ action: 'retrieve', pk, request_id: `before ${round}` });
        writer.send({ action: 'patch', pk, data: { qty: round }, request_id: `patch ${round}` });
        writer.send({ action: 'retrieve', pk, request_id: `after ${round}` });
        const replies = [await writer.next(5000), await writer.next(5000), await writer.next(5000)];
        const after = replies.find((reply) => reply.request_id === `after ${round}`);
        assert.equal(replies.find((reply) => reply.request_id === `patch ${round}`)?.data.qty, round);
        assert.equal(after?.data.qty, round, JSON.stringify(replies));
      }
    } finally {
      close();
    }
  });

  test('booleans and date-times: a direct create and patch store and answer what the knex path does', async () => {
    const results: Record<string, unknown[]> = {};
    for (const stream of ['typed', 'typedknex']) {
      const socket = await TestSocket.open(`${url}/ws/${stream}`);
      try {
        const made = await socket.request({
          action: 'create',
          data: { label: 'typed', done: true, due: '2026-12-07T10:30:00.250000Z' },
          request_id: 'c',
        });
        assert.equal(made.response_status, 201, JSON.stringify(made));
        const pk = made.data.id;
        const stored = async () => {
          const [row] = (await raw.query<Record<string, unknown>>('select done, due from wp_plain where id = ?', [pk])) as [
            Record<string, unknown>,
          ];
          return { done: row.done, due: row.due instanceof Date ? row.due.toISOString() : row.due };
        };
        const afterCreate = await stored();
        const patched = await socket.request({ action: 'patch', pk, data: { done: false, due: null }, request_id: 'p' });
        const afterPatch = await stored();
        const repatched = await socket.request({ action: 'patch', pk, data: { due: '2027-01-31T23:59:59Z' }, request_id: 'q' });
        const strip = (reply: { data: Record<string, unknown> }) => ({ ...reply.data, id: undefined });
        results[stream] = [strip(made), afterCreate, strip(patched), afterPatch, strip(repatched), await stored()];
      } finally {
        socket.close();
      }
    }
    assert.deepEqual(results.typed, results.typedknex);
    assert.equal((results.typed![0] as { done: unknown }).done, true, 'a boolean answered as a boolean');
  });

  test('patches that arrive together share a COMMIT on SQLite; one the database refuses is undone alone, the others are kept', async () => {
    const rows = await Promise.all(Array.from({ length: 6 }, (_, i) => row('plain', `together ${i}`)));
    const refusedIndex = 3;
    try {
      const stats = sqliteBusyStats(app.knex!);
      const before = {
        logged: await logged('wp_plain'),
        commits: stats?.groupCommits ?? 0,
        kept: stats?.groupedTransactions ?? 0,
        waits: stats?.waits ?? 0,
      };
      // SQLite: another connection holds the write lock while the patches arrive, so all of them are in
      // line when it is let go, however the sockets' frames were spread over the event loop.
      const locker = dir ? new Database(path.join(dir, 'db.sqlite3')) : undefined;
      locker?.exec('BEGIN IMMEDIATE');
      let answers: Array<Record<string, any>>;
      try {
        const sent = rows.map(({ pk, writer }, i) =>
          writer.request({ action: 'patch', pk, data: { qty: i === refusedIndex ? -1 : 10 + i }, request_id: `t${i}` }),
        );
        if (locker) {
          await waitFor(() => (stats?.waits ?? 0) > before.waits);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        locker?.exec('ROLLBACK');
        answers = await Promise.all(sent);
      } finally {
        locker?.close();
      }
      for (const [i, answer] of answers.entries()) {
        if (i === refusedIndex) assert.notEqual(answer.response_status, 200, JSON.stringify(answer));
        else assert.deepEqual(answer, reply('patch', { id: rows[i]!.pk, label: `together ${i}`, qty: 10 + i, stamp: '' }, 200, `t${i}`));
      }
      for (const [i, { watcher }] of rows.entries()) {
        if (i === refusedIndex) assert.ok(await watcher.quiet(300), 'no event for the refused patch');
        else assert.equal((await watcher.next(5000)).data.qty, 10 + i);
      }
      assert.equal(await logged('wp_plain'), before.logged + rows.length - 1, 'one log entry per kept patch');
      const stored = new Map(
        (await raw.query<{ id: unknown; qty: unknown }>('select id, qty from wp_plain where label like ?', ['together %'])).map((each) => [
          Number(each.id),
          Number(each.qty),
        ]),
      );
      assert.deepEqual(
        rows.map(({ pk }) => stored.get(pk)),
        rows.map((_, i) => (i === refusedIndex ? 0 : 10 + i)),
      );
      if (stats) {
        const commits = stats.groupCommits - before.commits;
        const kept = stats.groupedTransactions - before.kept;
        assert.equal(kept, rows.length - 1, 'every kept patch went through a direct COMMIT');
        assert.equal(commits, 1, `the patches shared one COMMIT (${kept} writes in ${commits} COMMITs)`);
      }
      // The line goes on after the refusal: a patch of the refused row is written.
      const again = await rows[refusedIndex]!.writer.request({
        action: 'patch',
        pk: rows[refusedIndex]!.pk,
        data: { qty: 1 },
        request_id: 'again',
      });
      assert.equal(again.response_status, 200, JSON.stringify(again));
      assert.equal((await rows[refusedIndex]!.watcher.next(5000)).data.qty, 1);
    } finally {
      for (const each of rows) each.close();
    }
  });

  test('PostgreSQL: the other processes hear of a direct patch once it committed (a notification on the capture channel), and see the patch', {
    skip: !process.env.TEST_DATABASE_URL && 'PostgreSQL pass only (LISTEN/NOTIFY)',
  }, async () => {
    const { pk, writer, close } = await row('plain', 'announced');
    const listener = new pg.Client({ connectionString: database!.url });
    await listener.connect();
    try {
      await listener.query(`listen ${CAPTURE_CHANNEL}`);
      const heard = new Promise<number>((resolve) => {
        listener.once('notification', async () => {
          // What a process woken now reads: the row as the patch left it.
          const [stored] = await raw.query<{ qty: unknown }>('select qty from wp_plain where id = ?', [pk]);
          resolve(Number(stored?.qty));
        });
      });
      assert.equal((await writer.request({ action: 'patch', pk, data: { qty: 9 }, request_id: 1 })).response_status, 200);
      assert.equal(await Promise.race([heard, new Promise((resolve) => setTimeout(() => resolve('no notification'), 5000))]), 9);
    } finally {
      await listener.end();
      close();
    }
  });

  test("a patch's change is handed on (published, or the feed woken) only once its transaction has committed", async () => {
    const { pk, writer, watcher, close } = await row('plain', 'wake');
    const hub = app.runtime!.hub;
    const { catchUp, publishLogged } = hub;
    // What another connection reads when the change is handed on: the row as the patch left it only after COMMIT.
    const seen: Array<Promise<Array<{ qty: unknown }>>> = [];
    const look = () => seen.push(raw.query<{ qty: unknown }>('select qty from wp_plain where id = ?', [pk]));
    hub.catchUp = function (this: typeof hub) {
      look();
      return catchUp.call(this);
    };
    hub.publishLogged = function (this: typeof hub, entry) {
      look();
      return publishLogged.call(this, entry);
    };
    try {
      assert.equal((await writer.request({ action: 'patch', pk, data: { qty: 7 }, request_id: 1 })).response_status, 200);
      assert.equal((await watcher.next(5000)).data.qty, 7);
    } finally {
      hub.catchUp = catchUp;
      hub.publishLogged = publishLogged;
      close();
    }
    assert.ok(seen.length > 0, 'the change was handed on');
    assert.deepEqual(
      (await Promise.all(seen)).map((rows) => Number(rows[0]?.qty)),
      seen.map(() => 7),
      'handed on after the commit',
    );
  });
});
