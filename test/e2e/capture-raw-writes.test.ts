/**
 * Writes from anywhere (docs/capture.md), over real sockets: rows of the demo's captured tables
 * (things, classrooms) written by a second connection to the same database (a `pg` client, a
 * better-sqlite3 connection to the same file, the `psql` / `sqlite3` shells) reach DCRF and GraphQL
 * subscribers as if written through the gateway: right events, right data, groups, resume, commit
 * order; a write through the gateway is one event, a rolled-back one none.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'graphql-ws';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { graphqlClient, subscribeLive } from '../helpers/graphql.js';
import { CAPTURE_LISTENER_NAME } from '../../src/events/capture/wake.js';
import { insertThingsSql, openRawWriter, type RawWriter } from '../helpers/raw-writer.js';

const run = promisify(execFile);

let app: TestApp;
let raw: RawWriter;
let client: Client;
before(async () => {
  app = await startTestApp();
  raw = await openRawWriter(app.knex);
  client = graphqlClient(app);
});
after(async () => {
  await client.dispose();
  await raw.close();
  await app.close();
});

const open = (path: string) => TestSocket.open(`${app.wsUrl}${path}`);

/** Inserts one thing through the raw connection; returns its id. */
async function rawInsert(name: string, counter = 0): Promise<number> {
  await raw.query('insert into things (name, counter) values (?, ?)', [name, counter]);
  const [row] = await raw.query<{ id: unknown }>('select max(id) as id from things where name = ?', [name]);
  return Number(row!.id);
}

/** Reads `count` frames, waiting long enough for a loaded machine. */
async function take(socket: TestSocket, count: number, timeoutMs = 10_000): Promise<any[]> {
  const frames = [];
  for (let i = 0; i < count; i++) frames.push(await socket.next(timeoutMs));
  return frames;
}

describe('raw writes on things reach every kind of subscriber', () => {
  test('INSERT / UPDATE / DELETE from a second connection: subscribe_many, subscribe_instance, thingActivity, thingChanged', async () => {
    const many = await open('/ws/things/');
    assert.equal((await many.request({ action: 'subscribe_many', request_id: 'm' })).response_status, 201);
    const activity = await subscribeLive(client, 'subscription { thingActivity { action data { id name counter } } }');

    const id = await rawInsert('from psql', 3);
    assert.deepEqual(await many.next(5000), reply('create', { pk: id, name: 'from psql', counter: 3 }, 200, 'm'));
    assert.deepEqual((await activity.next(5000)).data, {
      thingActivity: { action: 'CREATE', data: { id: String(id), name: 'from psql', counter: 3 } },
    });

    const instance = await open('/ws/things/');
    assert.equal((await instance.request({ action: 'subscribe_instance', pk: id, request_id: 'i' })).response_status, 201);
    const changed = await subscribeLive(client, 'subscription($id: ID!) { thingChanged(id: $id) { action data { id name counter } } }', {
      id: String(id),
    });

    await raw.query('update things set name = ?, counter = counter + 1 where id = ?', ['renamed', id]);
    const updated = { pk: id, name: 'renamed', counter: 4 };
    assert.deepEqual(await many.next(5000), reply('update', updated, 200, 'm'));
    assert.deepEqual(await instance.next(5000), reply('update', updated, 200, 'i'));
    const graphqlUpdated = { action: 'UPDATE', data: { id: String(id), name: 'renamed', counter: 4 } };
    assert.deepEqual((await activity.next(5000)).data, { thingActivity: graphqlUpdated });
    assert.deepEqual((await changed.next(5000)).data, { thingChanged: graphqlUpdated });

    await raw.query('delete from things where id = ?', [id]);
    assert.deepEqual(await many.next(5000), reply('delete', updated, 204, 'm'));
    assert.deepEqual(await instance.next(5000), reply('delete', { pk: id }, 204, 'i'));
    const graphqlDeleted = { action: 'DELETE', data: { id: String(id), name: 'renamed', counter: 4 } };
    assert.deepEqual((await activity.next(5000)).data, { thingActivity: graphqlDeleted });
    assert.deepEqual((await changed.next(5000)).data, { thingChanged: graphqlDeleted });

    assert.ok(await many.quiet(300), 'one event per write');
    activity.dispose();
    changed.dispose();
    many.close();
    instance.close();
  });

  test('a raw UPDATE of 10,000 rows: 10,000 events to a subscribe_many subscriber, in log order, none twice', async () => {
    await raw.query(insertThingsSql(10_000, 'bulk'));
    const socket = await open('/ws/things/');
    assert.equal((await socket.request({ action: 'subscribe_many', request_id: 'bulk' })).response_status, 201);
    const [{ seq: before }] = await raw.query<{ seq: unknown }>('select max(seq) as seq from dcrf_change_log');
    const started = Date.now();
    await raw.query("update things set counter = counter + 1 where name like 'bulk %'");
    const frames = await take(socket, 10_000, 30_000);
    const took = Date.now() - started;
    process.stdout.write(`# 10,000-row raw UPDATE (${raw.kind}): all events delivered in ${took} ms\n`);
    assert.ok(frames.every((frame) => frame.action === 'update' && frame.request_id === 'bulk' && frame.data.counter === 1));
    const pks = frames.map((frame) => frame.data.pk);
    assert.equal(new Set(pks).size, 10_000, 'every row once');
    const logged = await raw.query<{ pk: string }>('select pk from dcrf_change_log where seq > ? order by seq', [Number(before)]);
    assert.deepEqual(
      pks,
      logged.map((row) => JSON.parse(row.pk)),
      'in the order of the log',
    );
    assert.ok(await socket.quiet(300), 'nothing more (the inserts before the subscription are not its events)');
    await raw.query("delete from things where name like 'bulk %'");
    await take(socket, 10_000, 30_000);
    socket.close();
  });

  test('a raw UPDATE moving a classroom to another school: delete for the old school, create for the new one', async () => {
    await raw.query("insert into schools (name) values ('old school'), ('new school')");
    const schools = await raw.query<{ id: unknown; name: string }>("select id, name from schools where name like '% school' order by id");
    const [oldSchool, newSchool] = schools.map((row) => Number(row.id));
    await raw.query('insert into classrooms (name, school) values (?, ?)', ['room 1', oldSchool]);
    const [room] = await raw.query<{ id: unknown }>("select id from classrooms where name = 'room 1'");
    const id = Number(room!.id);

    const oldSide = await open('/ws/classrooms/');
    const newSide = await open('/ws/classrooms/');
    for (const [socket, school] of [
      [oldSide, oldSchool],
      [newSide, newSchool],
    ] as const) {
      const answer = await socket.request({ action: 'subscribe_to_classrooms_in_school', school_pk: school, request_id: school });
      assert.equal(answer.response_status, 201);
    }
    await raw.query('update classrooms set school = ? where id = ?', [newSchool, id]);
    const moved = { id, name: 'room 1', school: newSchool };
    assert.deepEqual(await oldSide.next(5000), reply('delete', moved, 200, oldSchool), 'the old school sees it leave, with its new school');
    assert.deepEqual(await newSide.next(5000), reply('create', moved, 200, newSchool));
    assert.ok(await oldSide.quiet(300));
    assert.ok(await newSide.quiet(300));
    oldSide.close();
    newSide.close();
  });

  test('a write through the gateway is exactly one event (and one log entry)', async () => {
    const socket = await open('/ws/things/');
    const writer = await open('/ws/things/');
    const created = (await writer.request({ action: 'create', data: { name: 'orm' }, request_id: 1 })).data;
    assert.equal((await socket.request({ action: 'subscribe_many', request_id: 'm' })).response_status, 201);
    const [{ seq: before }] = await raw.query<{ seq: unknown }>('select max(seq) as seq from dcrf_change_log');
    await writer.request({ action: 'patch', pk: created.pk, data: { counter: 7 }, request_id: 2 });
    assert.deepEqual(await socket.next(5000), reply('update', { pk: created.pk, name: 'orm', counter: 7 }, 200, 'm'));
    assert.ok(await socket.quiet(600), 'one event, not two');
    const entries = await raw.query('select model, action from dcrf_change_log where seq > ?', [Number(before)]);
    assert.deepEqual(entries, [{ model: 'Thing', action: 'update' }]);
    socket.close();
    writer.close();
  });

  test('a rolled-back raw write sends nothing', async () => {
    const id = await rawInsert('kept');
    const socket = await open('/ws/things/');
    assert.equal((await socket.request({ action: 'subscribe_many', request_id: 'm' })).response_status, 201);
    await raw.query('begin');
    await raw.query('update things set counter = 99 where id = ?', [id]);
    await raw.query('insert into things (name) values (?)', ['never']);
    await raw.query('rollback');
    assert.ok(await socket.quiet(600), 'nothing from a rollback');
    await raw.query('update things set counter = 1 where id = ?', [id]);
    assert.deepEqual(await socket.next(5000), reply('update', { pk: id, name: 'kept', counter: 1 }, 200, 'm'));
    socket.close();
  });

  test('resume: a client away while raw writes happen gets exactly those, then live ones', async () => {
    const id = await rawInsert('resumed');
    const first = await open('/ws/things/');
    const answer = await first.request({ action: 'subscribe_many', request_id: 'r', since: 'latest' });
    assert.equal(answer.response_status, 201);
    const position = answer.data.position as string;
    first.close();

    const created = await rawInsert('while away');
    await raw.query('update things set counter = 5 where id = ?', [id]);
    await raw.query('delete from things where id = ?', [created]);

    const again = await open('/ws/things/');
    assert.equal((await again.request({ action: 'subscribe_many', request_id: 'r', since: position })).response_status, 201);
    const frames = (await take(again, 3)).map(({ position: _position, ...frame }) => frame);
    assert.deepEqual(frames, [
      reply('create', { pk: created, name: 'while away', counter: 0 }, 200, 'r'),
      reply('update', { pk: id, name: 'resumed', counter: 5 }, 200, 'r'),
      reply('delete', { pk: created, name: 'while away', counter: 0 }, 204, 'r'),
    ]);
    await raw.query('update things set counter = 6 where id = ?', [id]);
    const { position: live, ...frame } = await again.next(5000);
    assert.deepEqual(frame, reply('update', { pk: id, name: 'resumed', counter: 6 }, 200, 'r'));
    assert.equal(typeof live, 'string');
    assert.ok(await again.quiet(300), 'nothing twice');
    again.close();
  });

  test('commit order: a raw write committing after a gateway write that began later comes after it, and resumes after it', async (t) => {
    if (raw.kind === 'sqlite') {
      t.skip(
        'SQLite has one writer: a raw transaction holding the write lock makes the gateway write wait, so the order cannot be reversed',
      );
      return;
    }
    const a = await rawInsert('raw first');
    const b = await rawInsert('orm second');
    const socket = await open('/ws/things/');
    const since = (await socket.request({ action: 'subscribe_many', request_id: 'o', since: 'latest' })).data.position as string;
    const writer = await open('/ws/things/');
    // The raw transaction writes first and commits last.
    await raw.query('begin');
    await raw.query('update things set counter = 1 where id = ?', [a]);
    await writer.request({ action: 'patch', pk: b, data: { counter: 2 }, request_id: 1 });
    const { position: ormPosition, ...ormEvent } = await socket.next(5000);
    assert.deepEqual(ormEvent, reply('update', { pk: b, name: 'orm second', counter: 2 }, 200, 'o'));
    await raw.query('commit');
    const { position: rawPosition, ...rawEvent } = await socket.next(5000);
    assert.deepEqual(rawEvent, reply('update', { pk: a, name: 'raw first', counter: 1 }, 200, 'o'));
    assert.notEqual(rawPosition, ormPosition);

    // A reader that saw the gateway's write and resumes after it still gets the raw one.
    const resumed = await open('/ws/things/');
    assert.equal((await resumed.request({ action: 'subscribe_many', request_id: 'o2', since: ormPosition })).response_status, 201);
    const { position: replayed, ...replayedEvent } = await resumed.next(5000);
    assert.deepEqual(replayedEvent, reply('update', { pk: a, name: 'raw first', counter: 1 }, 200, 'o2'));
    assert.equal(replayed, rawPosition);
    assert.ok(await resumed.quiet(300));
    // And from the start, both in commit order.
    const fromStart = await open('/ws/things/');
    await fromStart.request({ action: 'subscribe_many', request_id: 'o3', since });
    assert.deepEqual(
      (await take(fromStart, 2)).map((frame) => frame.data.pk),
      [b, a],
    );
    for (const each of [socket, writer, resumed, fromStart]) each.close();
  });

  test('commit order under concurrent captured commits: an entry numbered first and committed last is delivered before the later one, never skipped', async (t) => {
    if (raw.kind === 'sqlite') {
      t.skip('SQLite has one writer: two captured transactions cannot commit interleaved');
      return;
    }
    const a = await rawInsert('numbered first');
    const b = await rawInsert('committed first');
    const socket = await open('/ws/things/');
    const since = (await socket.request({ action: 'subscribe_many', request_id: 'c', since: 'latest' })).data.position as string;
    const writer = await open('/ws/things/');
    // The raw transaction's capture trigger runs now (not at its COMMIT): its entry takes the next
    // number and the append lock, and the transaction stays open.
    await raw.query('begin');
    await raw.query('update things set counter = 5 where id = ?', [a]);
    await raw.query('set constraints dcrf_capture immediate');
    // The gateway's patch of another row numbers its entry after it and may commit before it.
    writer.send({ action: 'patch', pk: b, data: { counter: 6 }, request_id: 'p' });
    assert.ok(await socket.quiet(500), 'nothing is delivered while an older entry is unsettled');
    await raw.query('commit');
    const reply1 = await writer.next(10_000);
    assert.equal(reply1.response_status, 200, JSON.stringify(reply1));
    const [first, second] = await take(socket, 2);
    assert.deepEqual(
      [first.data, second.data],
      [
        { pk: a, name: 'numbered first', counter: 5 },
        { pk: b, name: 'committed first', counter: 6 },
      ],
    );
    assert.ok(await socket.quiet(300), 'each once');
    // Resuming after the first gets the second; from the start, both, in the same order.
    const resumed = await open('/ws/things/');
    await resumed.request({ action: 'subscribe_many', request_id: 'r', since: first.position });
    assert.deepEqual((await resumed.next(5000)).data.pk, b);
    const fromStart = await open('/ws/things/');
    await fromStart.request({ action: 'subscribe_many', request_id: 's', since });
    assert.deepEqual(
      (await take(fromStart, 2)).map((frame) => frame.data.pk),
      [a, b],
    );
    for (const each of [socket, writer, resumed, fromStart]) each.close();
  });

  test('a write from the database shell (sqlite3 / psql) reaches subscribers', async (t) => {
    const shell = raw.kind === 'sqlite' ? '/usr/bin/sqlite3' : '/usr/bin/psql';
    if (!fs.existsSync(shell)) {
      t.skip(`${shell} is not installed`);
      return;
    }
    const id = await rawInsert('shell');
    const socket = await open('/ws/things/');
    assert.equal((await socket.request({ action: 'subscribe_instance', pk: id, request_id: 's' })).response_status, 201);
    const sql = `update things set name = 'from the shell' where id = ${id}`;
    if (raw.kind === 'sqlite') await run(shell, ['-cmd', '.timeout 10000', raw.address, sql]);
    else await run(shell, [raw.address, '-v', 'ON_ERROR_STOP=1', '-c', sql]);
    assert.deepEqual(await socket.next(5000), reply('update', { pk: id, name: 'from the shell', counter: 0 }, 200, 's'));
    socket.close();
  });
  test('PostgreSQL: the listening connection, killed, comes back and what committed meanwhile is delivered', async (t) => {
    if (raw.kind === 'sqlite') {
      t.skip('SQLite is watched through PRAGMA data_version, not a connection that can be killed');
      return;
    }
    const listener = () =>
      raw.query<{ pid: number }>('select pid from pg_stat_activity where application_name = ? and datname = current_database()', [
        CAPTURE_LISTENER_NAME,
      ]);
    const [before] = await listener();
    assert.ok(before, 'one listening connection');
    const id = await rawInsert('while deaf');
    const socket = await open('/ws/things/');
    assert.equal((await socket.request({ action: 'subscribe_instance', pk: id, request_id: 'l' })).response_status, 201);
    await raw.query('select pg_terminate_backend(?)', [before.pid]);
    await raw.query('update things set counter = 1 where id = ?', [id]);
    assert.deepEqual(await socket.next(5000), reply('update', { pk: id, name: 'while deaf', counter: 1 }, 200, 'l'));
    const deadline = Date.now() + 10_000;
    let after = await listener();
    while ((after.length === 0 || after[0]!.pid === before.pid) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await listener();
    }
    assert.equal(after.length, 1, 'listening again, once');
    assert.notEqual(after[0]!.pid, before.pid);
    await raw.query('update things set counter = 2 where id = ?', [id]);
    assert.deepEqual(await socket.next(5000), reply('update', { pk: id, name: 'while deaf', counter: 2 }, 200, 'l'));
    socket.close();
  });
});
