/**
 * The prepared-statement cache on knex's better-sqlite3 connection: one statement per SQL text,
 * bounded, and still right after the schema changes under it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { cachePreparedStatements } from '../../src/db/statement-cache.js';
import { openDatabase } from '../../src/db/knex.js';

test('the same SQL text gets the same statement; past the bound the least recently used is dropped', () => {
  const db = new Database(':memory:');
  cachePreparedStatements(db, 2);
  const one = db.prepare('SELECT 1 AS n');
  assert.equal(db.prepare('SELECT 1 AS n'), one);
  const two = db.prepare('SELECT 2 AS n');
  assert.equal(db.prepare('SELECT 1 AS n'), one); // used again: now the newest
  db.prepare('SELECT 3 AS n'); // drops SELECT 2, the least recently used
  assert.equal(db.prepare('SELECT 1 AS n'), one);
  assert.notEqual(db.prepare('SELECT 2 AS n'), two);
  assert.deepEqual(one.get(), { n: 1 });
  db.close();
});

test('a cached statement sees a column added after it was prepared', () => {
  const db = new Database(':memory:');
  cachePreparedStatements(db);
  db.prepare('CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)').run();
  db.prepare('INSERT INTO t (a) VALUES (?)').run('x');
  assert.deepEqual(db.prepare('SELECT * FROM t').all(), [{ id: 1, a: 'x' }]);
  db.prepare('ALTER TABLE t ADD COLUMN b TEXT').run();
  assert.deepEqual(db.prepare('SELECT * FROM t').all(), [{ id: 1, a: 'x', b: null }]);
  db.close();
});

test('knex on SQLite prepares each SQL text once, across queries and transactions', async () => {
  const prepared: string[] = [];
  const original = Database.prototype.prepare;
  // Counts what reaches better-sqlite3 itself, under the cache knex's connection gets on creation.
  Database.prototype.prepare = function (this: Database.Database, sql: string) {
    prepared.push(sql);
    return original.call(this, sql);
  } as typeof original;
  const knex = openDatabase('sqlite::memory:');
  try {
    await knex.schema.createTable('items', (table) => {
      table.increments('id');
      table.string('name');
    });
    for (let i = 0; i < 3; i++) {
      await knex.transaction(async (trx) => {
        await trx('items').insert({ name: `n${i}` });
        await trx('items').where({ id: 1 }).update({ name: 'first' });
      });
    }
    assert.deepEqual(await knex('items').orderBy('id').pluck('name'), ['first', 'n1', 'n2']);
    assert.deepEqual(
      prepared.filter((sql, i) => prepared.indexOf(sql) !== i),
      [],
    );
    assert.ok(prepared.some((sql) => sql.startsWith('insert into `items`')));
  } finally {
    Database.prototype.prepare = original;
    await knex.destroy();
  }
});
