import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine } from '../../src/cli-args.js';
import { loadConfig } from '../../src/config.js';

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
  const config = loadConfig({
    RATE_LIMIT_PER_SECOND: '50',
    MAX_SUBSCRIPTIONS_PER_SOCKET: '3',
    MAX_FRAME_BYTES: '4096',
    MAX_JSON_DEPTH: '8',
  });
  assert.deepEqual(config.limits, { ratePerSecond: 50, maxSubscriptions: 3, maxDepth: 8 });
  assert.equal(config.maxFrameBytes, 4096);
});

test('a limit that is not a whole number is refused with its name', () => {
  assert.throws(() => loadConfig({ RATE_LIMIT_BURST: 'lots' }), /RATE_LIMIT_BURST must be a whole number/);
  assert.throws(() => loadConfig({ PORT: '-1' }), /PORT must be a whole number/);
});

test('flags in kebab case fold into the environment', () => {
  const invocation = parseCommandLine(
    ['serve', '--port', '9001', '--database-url=sqlite::memory:', '--max-subscriptions-per-socket', '7'],
    {},
  );
  assert.equal(invocation.kind, 'run');
  if (invocation.kind !== 'run') return;
  assert.equal(invocation.command, 'serve');
  const config = loadConfig(invocation.env);
  assert.equal(config.port, 9001);
  assert.equal(config.databaseUrl, 'sqlite::memory:');
  assert.equal(config.limits.maxSubscriptions, 7);
  assert.deepEqual(parseCommandLine(['serve', '--port'], {}), { kind: 'error', message: '--port needs a value' });
});

test('the command line: help and version anywhere, unknown flags and commands refused with the nearest name', () => {
  assert.deepEqual(parseCommandLine([], {}), { kind: 'help', command: undefined });
  assert.deepEqual(parseCommandLine(['--help'], {}), { kind: 'help', command: undefined });
  assert.deepEqual(parseCommandLine(['serve', '--help'], {}), { kind: 'help', command: 'serve' });
  assert.deepEqual(parseCommandLine(['help', 'createtoken'], {}), { kind: 'help', command: 'createtoken' });
  assert.deepEqual(parseCommandLine(['--version'], {}), { kind: 'version' });
  assert.deepEqual(parseCommandLine(['serve', '-v'], {}), { kind: 'version' });
  assert.deepEqual(parseCommandLine(['serve', '--prot', '8403'], {}), {
    kind: 'error',
    message: 'unknown flag --prot: did you mean --port?',
  });
  assert.deepEqual(parseCommandLine(['serv'], {}), { kind: 'error', message: 'unknown command "serv": did you mean "serve"?' });
  assert.deepEqual(parseCommandLine(['serve', '--log-level', 'loud'], {}), {
    kind: 'error',
    message: '--log-level must be one of trace, debug, info, warn, error, fatal, silent (got "loud")',
  });
  assert.deepEqual(parseCommandLine(['createtoken'], {}), { kind: 'error', message: 'createtoken takes one <username>' });
  const run = parseCommandLine(['createtoken', 'alice', '--log-level=debug', '--ping-interval-ms', '5000'], { HOST: 'h' });
  assert.deepEqual(run, {
    kind: 'run',
    command: 'createtoken',
    args: ['alice'],
    env: { HOST: 'h', LOG_LEVEL: 'debug', PING_INTERVAL_MS: '5000' },
  });
});
