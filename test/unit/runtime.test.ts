/**
 * The runtime and how code finds it without globals: model hooks through the knex (or transaction,
 * or savepoint) their query runs on; a knex no runtime is bound to captures nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { openDatabase } from '../../src/db/knex.js';
import { migrate } from '../../src/db/migrations.js';
import { demoMigrations } from '../../src/demo/app.js';
import { Test } from '../../src/demo/models.js';
import type { ChangeMessage } from '../../src/events/hub.js';
import { Runtime } from '../../src/runtime.js';

let dir: string;
let knex: Knex;
let runtime: Runtime;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-runtime-'));
  knex = openDatabase(`sqlite:${path.join(dir, 'runtime.sqlite3')}`);
  await migrate(knex, demoMigrations);
  runtime = await Runtime.create({ knex });
});

after(async () => {
  await runtime.close();
  await knex.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a knex, its transactions and their savepoints all find the runtime bound to the knex', async () => {
  assert.equal(Runtime.of(knex), runtime);
  await knex.transaction(async (trx) => {
    assert.equal(Runtime.of(trx), runtime);
    await trx.transaction(async (savepoint) => assert.equal(Runtime.of(savepoint), runtime));
  });
  for (const value of [undefined, null, {}, 'sqlite:x', { client: {} }]) assert.equal(Runtime.of(value), undefined);
});

test('another knex on the same file is not bound: its writes capture nothing and reach no hub', async () => {
  const other = openDatabase(`sqlite:${path.join(dir, 'runtime.sqlite3')}`);
  const events: ChangeMessage[] = [];
  // Test's writes are captured by its ORM hooks (the database captures Thing's, whoever writes them).
  const close = await runtime.hub.subscribe(runtime.hub.modelTopic('Test'), (message: ChangeMessage) => events.push(message), 'Test');
  try {
    assert.equal(Runtime.of(other), undefined);
    let queries = 0;
    other.on('query', () => queries++);
    await Test.query(other).insert({ name: 'unbound' });
    assert.equal(queries, 1, 'the INSERT alone: nothing is read for an event');
    assert.equal(events.length, 0);
    await Test.query(knex).insert({ name: 'bound' });
    assert.deepEqual(
      events.map((message) => [message.action, message.data.name]),
      [['create', 'bound']],
    );
  } finally {
    close();
    await other.destroy();
  }
});

test('a runtime without a database: no knex, no fast reader, healthy while its PubSub is', async () => {
  const bare = await Runtime.create();
  try {
    assert.equal(bare.hasDatabase, false);
    assert.throws(() => bare.knex, /has no database/);
    assert.equal(bare.fastReader, undefined);
    assert.equal(await bare.healthy(), true);
  } finally {
    await bare.close();
  }
});

test('the fast reader: a SQLite file has one (opened on first use), an in-memory database none', async () => {
  assert.ok(runtime.fastReader, 'a SQLite file');
  assert.equal(runtime.fastReader, runtime.fastReader, 'opened once');
  const memory = openDatabase('sqlite::memory:');
  const inMemory = await Runtime.create({ knex: memory });
  try {
    assert.equal(inMemory.fastReader, undefined);
  } finally {
    await inMemory.close();
    await memory.destroy();
  }
});

test('health: false once the database stops answering', async () => {
  const doomed = openDatabase(`sqlite:${path.join(dir, 'doomed.sqlite3')}`);
  const doomedRuntime = await Runtime.create({ knex: doomed });
  try {
    assert.equal(await doomedRuntime.healthy(), true);
    await doomed.destroy();
    assert.equal(await doomedRuntime.healthy(), false);
  } finally {
    await doomedRuntime.close();
  }
});
