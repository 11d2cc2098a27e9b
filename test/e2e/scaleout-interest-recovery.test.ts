/**
 * The model-interest registry after Redis was away (a restart empties it): a process that re-reads it
 * before the others have put their entries back keeps capturing every model for one refresh interval,
 * and each process announces its models again as it comes back, so no write of an observed model goes
 * uncaptured in between (a write nobody captures has no change record, so no event anywhere).
 * Needs Redis: runs in the PostgreSQL + Redis pass (scaleout-* files).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import { RedisModelInterest } from '../../src/events/interest.js';
import { uniqueRedisPrefix } from '../helpers/postgres.js';

const url = process.env.TEST_REDIS_URL;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One process's registry on its own connections. */
function registry(prefix: string, ttlMs: number) {
  const publisher = new Redis(url!);
  const engine = new RedisPubSub({ publisher, subscriber: new Redis(url!) });
  const interest = new RedisModelInterest(publisher, engine, prefix, undefined, ttlMs);
  return {
    interest,
    close: async () => {
      await interest.stop();
      engine.close();
    },
  };
}

test('after Redis was away, a process back first keeps capturing until the others re-added their models, and hears them again', {
  skip: url ? false : 'needs Redis: runs in the PostgreSQL + Redis pass',
}, async () => {
  const prefix = uniqueRedisPrefix();
  const ttlMs = 1500; // a refresh every 1 s
  const observer = registry(prefix, ttlMs);
  const writer = registry(prefix, ttlMs);
  const admin = new Redis(url!);
  try {
    await observer.interest.start();
    await writer.interest.start();
    await writer.interest.stop(); // the writer's registry is re-read by hand below, not on its timer
    await observer.interest.observe('Product');
    assert.ok(writer.interest.isObserved('Product'), 'the announcement reached the writer');
    await sleep(ttlMs + 200); // the announcement itself is no longer remembered: only the registry says so
    await writer.interest.refresh();
    assert.ok(writer.interest.isObserved('Product'));
    assert.ok(!writer.interest.isObserved('Nobody'));

    // Redis restarted: its registry is empty, and both processes saw their connections drop.
    await admin.del(`${prefix}interest`);
    observer.interest.markStale();
    writer.interest.markStale();
    assert.ok(writer.interest.isObserved('Product'), 'while away, everything counts as observed');

    // The writer is back first: the observer's entry is not in the registry yet.
    await writer.interest.refresh();
    assert.deepEqual(await admin.zrange(`${prefix}interest`, 0, -1), []);
    assert.ok(writer.interest.isObserved('Product'), 'the writer still captures the observed model');

    // The observer comes back: re-adds its entry and announces it again.
    await observer.interest.refresh();
    await observer.interest.reannounce();
    await sleep(1000 + 1000 + 300); // past the writer's grace, with no refresh of its own since
    assert.ok(writer.interest.isObserved('Product'), 'the writer heard the observer announce again');
    assert.ok(!writer.interest.isObserved('Nobody'), 'after the grace, a model nobody observes is not captured');
  } finally {
    await Promise.all([observer.close(), writer.close()]);
    admin.disconnect();
  }
});
