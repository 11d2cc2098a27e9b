/**
 * The change feed under two gateway processes on PostgreSQL + Redis: Redis unreachable for 10 s during
 * a steady write rate, and a writer killed (SIGKILL) right after its commits. Every subscriber on both
 * processes gets every committed change, in order, none twice, none lost; and a real Redis of the test's
 * own killed and started again twice under subscribers that drop and resume (the chaos soak's quick run).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestSocket } from '../helpers/app.js';
import { createTestDatabase, uniqueRedisPrefix, type TestDatabase } from '../helpers/postgres.js';
import { GatewayProcess, scaleoutServices, waitForHealth, type Services } from '../helpers/scaleout.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const services = scaleoutServices();
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Frame {
  action: string;
  data: { pk: number; name: string; counter: number };
  request_id: string;
}

describe('the change feed under two gateway processes', { skip: 'skip' in services ? services.skip : false }, () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let writer: TestSocket;
  const subscribers: TestSocket[] = [];

  before(async () => {
    const { databaseUrl, redisUrl } = services as Services;
    const redis = new URL(redisUrl);
    proxy = await TcpProxy.start({ host: redis.hostname || '127.0.0.1', port: Number(redis.port || 6379) });
    database = await createTestDatabase(databaseUrl);
    const proxied = new URL(redisUrl);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    const env = { DATABASE_URL: database.url, REDIS_URL: proxied.toString(), REDIS_PREFIX: uniqueRedisPrefix() };
    a = await GatewayProcess.start(env);
    b = await GatewayProcess.start(env);
    writer = await TestSocket.open(`${a.wsUrl}/ws/things/`);
    for (const gateway of [a, a, b, b]) {
      const socket = await TestSocket.open(`${gateway.wsUrl}/ws/things/`);
      assert.equal((await socket.request({ action: 'subscribe_many', request_id: 'many' })).response_status, 201);
      subscribers.push(socket);
    }
  });

  after(async () => {
    writer?.close();
    for (const socket of subscribers) socket.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await proxy?.close();
    await database?.drop();
  });

  /** The next `count` frames of a subscriber. */
  async function frames(socket: TestSocket, count: number, timeoutMs: number): Promise<Frame[]> {
    const received: Frame[] = [];
    while (received.length < count) received.push((await socket.next(timeoutMs)) as unknown as Frame);
    return received;
  }

  test('Redis unreachable for 10 s under a steady write rate: every subscriber gets every change in order, once', async () => {
    const row = (await writer.request({ action: 'create', data: { name: 'steady' }, request_id: 'create' })).data as Frame['data'];
    for (const socket of subscribers) assert.equal(((await socket.next(5000)) as unknown as Frame).action, 'create');
    proxy.cut();
    await Promise.all([waitForHealth(a.url, 503), waitForHealth(b.url, 503)]);
    const started = Date.now();
    let counter = 0;
    while (Date.now() - started < 10_000) {
      counter++;
      assert.equal(
        (await writer.request({ action: 'patch', pk: row.pk, data: { counter }, request_id: `p${counter}` })).response_status,
        200,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    proxy.restore();
    await Promise.all([waitForHealth(a.url, 200), waitForHealth(b.url, 200)]);
    counter++;
    await writer.request({ action: 'patch', pk: row.pk, data: { counter }, request_id: `p${counter}` });
    const expected = Array.from({ length: counter }, (_, index) => index + 1);
    for (const socket of subscribers) {
      const got = await frames(socket, counter, 10_000);
      assert.deepEqual(
        got.map((frame) => frame.data.counter),
        expected,
      );
      assert.equal(await socket.quiet(700), true, 'none twice');
    }
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    assert.equal(Number(/^dcrf_gateway_events_lost_total (\d+)/m.exec(metrics)?.[1]), 0);
  });

  test('a writer killed (SIGKILL) right after its commits: subscribers on both processes get its changes within 2 s', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/killed-writer.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: database.url, COUNT: '3', NAME: 'killed' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, killed) => resolve(killed)));
    assert.equal(signal, 'SIGKILL');
    const diedAt = Date.now();
    for (const socket of subscribers) {
      const got = await frames(socket, 3, Math.max(1, 2000 - (Date.now() - diedAt)));
      assert.deepEqual(
        got.map((frame) => [frame.action, frame.data.name]),
        [
          ['create', 'killed-0'],
          ['create', 'killed-1'],
          ['create', 'killed-2'],
        ],
      );
    }
    assert.ok(Date.now() - diedAt < 2000, `delivered ${Date.now() - diedAt} ms after the writer died`);
  });
});

/** Whether redis-server can be started here (the restart test runs its own). */
function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('a real Redis restart', {
  skip:
    'skip' in services
      ? services.skip
      : !hasRedisServer() && process.env.CI !== 'true'
        ? 'needs redis-server on the PATH (the test kills and restarts a Redis of its own)'
        : false,
}, () => {
  test('Redis killed (SIGKILL) and started again, empty, twice, under subscribers that drop and resume at random (the chaos soak, --quick): 0 lost, 0 duplicated, 0 out of order', async () => {
    const { databaseUrl } = services as Services;
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/soak-chaos.ts', '--quick'], {
      cwd: ROOT,
      env: { ...process.env, TEST_DATABASE_URL: databaseUrl, SOAK_CHAOS_SOCKETS: '100', SOAK_CHAOS_SECONDS: '12', SOAK_CHAOS_RATE: '20' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, output);
    const figures = JSON.parse(output.slice(output.indexOf('{'), output.lastIndexOf('}') + 1)) as Record<string, any>;
    assert.deepEqual(
      [figures.lost, figures.duplicated, figures.outOfOrder, figures.statesNotEqualToTable, figures.writeErrors],
      [0, 0, 0, 0, 0],
      output,
    );
    assert.equal(figures.redisRestarts.length, 2);
    assert.ok(figures.writes > 0 && figures.events > 0 && figures.resumes > 0, output);
  });
});
