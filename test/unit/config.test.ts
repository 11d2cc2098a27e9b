import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyFlags, loadConfig } from '../../src/config.js';

test('defaults: 127.0.0.1:8000, the SQLite file, in-process PubSub, no extra limits', () => {
  const config = loadConfig({});
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8000);
  assert.equal(config.databaseUrl, 'sqlite:./data/demo.sqlite3');
  assert.equal(config.redisUrl, undefined);
  assert.deepEqual(config.limits, {});
  assert.equal(config.maxFrameBytes, undefined);
});

test('per-socket limits come from their environment variables', () => {
  const config = loadConfig({ RATE_LIMIT_PER_SECOND: '50', MAX_SUBSCRIPTIONS_PER_SOCKET: '3', MAX_FRAME_BYTES: '4096', MAX_JSON_DEPTH: '8' });
  assert.deepEqual(config.limits, { ratePerSecond: 50, maxSubscriptions: 3, maxDepth: 8 });
  assert.equal(config.maxFrameBytes, 4096);
});

test('a limit that is not a whole number is refused with its name', () => {
  assert.throws(() => loadConfig({ RATE_LIMIT_BURST: 'lots' }), /RATE_LIMIT_BURST must be a whole number/);
  assert.throws(() => loadConfig({ PORT: '-1' }), /PORT must be a whole number/);
});

test('flags in kebab case fold into the environment', () => {
  const { env, rest } = applyFlags(['serve', '--port', '9001', '--database-url=sqlite::memory:', '--max-subscriptions-per-socket', '7'], {});
  assert.deepEqual(rest, ['serve']);
  const config = loadConfig(env);
  assert.equal(config.port, 9001);
  assert.equal(config.databaseUrl, 'sqlite::memory:');
  assert.equal(config.limits.maxSubscriptions, 7);
  assert.throws(() => applyFlags(['--port'], {}), /--port needs a value/);
});
