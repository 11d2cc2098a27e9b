/**
 * Sharing a SQLite file: a write through the gateway while another connection holds the write lock
 * waits for it (DATABASE_BUSY_TIMEOUT) on timers, every other socket served meanwhile; past the
 * timeout every protocol answers 503 "Database busy: try again." and the same request succeeds later.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { FastReader } from '../../src/db/fast-read.js';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { GRAPHQL_PROTOCOLS, operate } from '../helpers/graphql-protocols.js';

const skip = process.env.TEST_DATABASE_URL ? 'SQLite write lock; this pass runs on PostgreSQL' : false;

/** Another process's connection to the app's file (a Django admin, a cron job, the sqlite3 shell). */
function otherConnection(app: TestApp): Database.Database {
  const file = FastReader.fileOf(app.knex);
  assert.ok(file, 'the app runs on a SQLite file');
  return new Database(file);
}

test('a patch waits out another connection’s 300 ms write transaction, then succeeds; other sockets are served meanwhile', {
  skip,
}, async () => {
  const app = await startTestApp();
  const other = otherConnection(app);
  let release: NodeJS.Timeout | undefined;
  try {
    const [writer, reader] = [await TestSocket.open(`${app.wsUrl}/ws/things/`), await TestSocket.open(`${app.wsUrl}/ws/things/`)];
    const created = await writer.request({ action: 'create', data: { name: 'shared', counter: 1 }, request_id: 1 });
    const pk = created.data.pk;

    other.exec('BEGIN IMMEDIATE');
    other.prepare('UPDATE things SET counter = counter + 100 WHERE id = ?').run(pk);
    // Released on a timer of this (the gateway's) process: a gateway that slept on the lock would hold
    // this timer back too, and the patch could never succeed.
    release = setTimeout(() => other.exec('COMMIT'), 300);

    let patched = false;
    const patch = writer.request({ action: 'patch', pk, data: { name: 'after the lock' }, request_id: 2 }, 20_000).finally(() => {
      patched = true;
    });
    const retrieved = await reader.request({ action: 'retrieve', pk, request_id: 3 }, 20_000);
    assert.deepEqual(
      retrieved,
      reply('retrieve', { pk, name: 'shared', counter: 1 }, 200, 3),
      'a read on another socket answers during the wait',
    );
    const health = await fetch(`${app.url}/healthz`);
    assert.equal(health.status, 200, '/healthz (a query on the gateway’s own connection) answers during the wait');
    assert.equal(other.inTransaction, true, 'both answered while the other connection still held the lock');
    assert.equal(patched, false, 'the patch is still waiting for the lock');

    assert.deepEqual(
      await patch,
      reply('patch', { pk, name: 'after the lock', counter: 101 }, 200, 2),
      'the patch ran after the other commit',
    );
    writer.close();
    reader.close();
  } finally {
    clearTimeout(release);
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await app.close();
  }
});

test('past DATABASE_BUSY_TIMEOUT: DCRF 503 ["Database busy: try again."], GraphQL DATABASE_BUSY on every transport; the same write succeeds later', {
  skip,
}, async () => {
  const app = await startTestApp({ env: { DATABASE_BUSY_TIMEOUT: '300ms' } });
  const other = otherConnection(app);
  try {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const created = await socket.request({ action: 'create', data: { name: 'locked out', counter: 1 }, request_id: 1 });
    const pk = created.data.pk;

    other.exec('BEGIN IMMEDIATE');
    other.prepare('UPDATE things SET counter = 50 WHERE id = ?').run(pk);
    const started = Date.now();
    assert.deepEqual(
      await socket.request({ action: 'patch', pk, data: { name: 'too late' }, request_id: 2 }, 20_000),
      reply('patch', null, 503, 2, ['Database busy: try again.']),
    );
    assert.ok(Date.now() - started >= 290, 'it waited the configured timeout before giving up');
    assert.deepEqual(
      await socket.request({ action: 'create', data: { name: 'no room' }, request_id: 3 }, 20_000),
      reply('create', null, 503, 3, ['Database busy: try again.']),
    );

    for (const protocol of GRAPHQL_PROTOCOLS) {
      const answer = await operate(app, protocol, 'mutation($id: ID!) { patchThing(id: $id, input: {name: "too late"}) { id name } }', {
        id: String(pk),
      });
      assert.deepEqual(
        answer.errors.map(({ message, extensions }) => ({ message, extensions })),
        [{ message: 'Database busy: try again.', extensions: { code: 'DATABASE_BUSY', status: 503 } }],
        `${protocol}: the busy answer`,
      );
    }

    other.exec('COMMIT');
    assert.deepEqual(
      await socket.request({ action: 'patch', pk, data: { name: 'retried' }, request_id: 4 }, 20_000),
      reply('patch', { pk, name: 'retried', counter: 50 }, 200, 4),
      'the same request succeeds once the lock is free; the refused ones wrote nothing',
    );
    socket.close();
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await app.close();
  }
});

test('a write outside a transaction (a plain knex UPDATE) waits out the lock the same way', { skip }, async () => {
  const app = await startTestApp();
  const other = otherConnection(app);
  let release: NodeJS.Timeout | undefined;
  try {
    const [row] = await app.knex('things').insert({ name: 'autocommit', counter: 1 }).returning('id');
    const id = (row as { id: number }).id;
    other.exec('BEGIN IMMEDIATE');
    release = setTimeout(() => other.exec('COMMIT'), 300);
    assert.equal(await app.knex('things').where({ id }).update({ counter: 2 }), 1);
    assert.equal(other.inTransaction, false, 'it ran once the other connection committed');
    assert.deepEqual(await app.knex('things').where({ id }).select('counter'), [{ counter: 2 }]);
  } finally {
    clearTimeout(release);
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await app.close();
  }
});
