import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveLimit, resolveOffset } from '../../src/resources/pagination.js';

const settings = { defaultLimit: 2, maxLimit: 100 };

test('limit: default when absent, zero, negative or unreadable; capped at the maximum', () => {
  assert.equal(resolveLimit(undefined, settings), 2);
  assert.equal(resolveLimit(0, settings), 2);
  assert.equal(resolveLimit(-3, settings), 2);
  assert.equal(resolveLimit('abc', settings), 2);
  assert.equal(resolveLimit(null, settings), 2);
  assert.equal(resolveLimit(1000, settings), 100);
  assert.equal(resolveLimit('7', settings), 7);
  assert.equal(resolveLimit(5, { defaultLimit: 10 }), 5);
});

test('offset: zero when absent, negative or unreadable', () => {
  assert.equal(resolveOffset(undefined), 0);
  assert.equal(resolveOffset(-4), 0);
  assert.equal(resolveOffset('x'), 0);
  assert.equal(resolveOffset(50), 50);
  assert.equal(resolveOffset('12'), 12);
});
