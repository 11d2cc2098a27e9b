/**
 * The statement-shape cache (db/connection.ts): each shape's text is made once and named for
 * PostgreSQL, up to MAX_STATEMENT_SHAPES shapes; past that, shapes a client can choose (a patch's
 * field list) are made per use and left unnamed, so neither this process nor PostgreSQL keeps them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_STATEMENT_SHAPES, statementShape } from '../../src/db/connection.js';

test('shapes are made once and named up to the bound; past it they are made per use, unnamed', () => {
  let made = 0;
  const make = (index: number) => () => {
    made++;
    return `select ${index}`;
  };
  const names = new Set<string>();
  for (let index = 0; index < MAX_STATEMENT_SHAPES; index++) {
    const shape = statementShape(`test\u0000${index}`, make(index));
    assert.equal(shape.text, `select ${index}`);
    assert.ok(shape.name && shape.name.length <= 63, 'a PostgreSQL identifier');
    names.add(shape.name);
  }
  assert.equal(names.size, MAX_STATEMENT_SHAPES, 'one name per shape');
  const before = made;
  const first = [...names];
  assert.deepEqual(statementShape('test\u00007', make(7)), { text: 'select 7', name: first[7] }, 'a kept shape, its name');
  assert.equal(made, before, 'a kept shape is not made again');
  for (let round = 0; round < 2; round++) {
    const extra = statementShape('test\u0000extra', make(-1));
    assert.deepEqual(extra, { text: 'select -1' }, 'past the bound: no name');
  }
  assert.equal(made, before + 2, 'made per use, never kept');
  assert.equal(statementShape('test\u00000', make(0)).name, first[0], 'the kept shapes keep their names');
});
