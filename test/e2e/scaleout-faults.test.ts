/**
 * Redis faults under two gateway processes: connections killed by the server (CLIENT KILL) and Redis
 * unreachable for a while. Subscribers keep their sockets, events flow again once Redis is back,
 * /healthz says 503 meanwhile, writes made meanwhile still reach every subscriber (read from the change
 * log, in order, none lost), and no process dies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestSocket } from '../helpers/app.js';
import { createTestDatabase, uniqueRedisPrefix, type TestDatabase } from '../helpers/postgres.js';
import { GatewayProcess, RedisAdmin, scaleoutServices, waitForHealth, type Services } from '../helpers/scaleout.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const services = scaleoutServices();

describe('Redis faults under two gateway processes', { skip: 'skip' in services ? services.skip : false }, () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let admin: RedisAdmin;
  let prefix: string;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let writer: TestSocket;
  let subscribers: Array<[TestSocket, string]>;
  let row: { pk: number; name: string; counter: number };

  /** Patches the row through A and expects the update on every subscriber, next in line. */
  async function writeAndExpect(counter: number): Promise<void> {
    const patched = await writer.request({ action: 'patch', pk: row.pk, data: { counter }, request_id: `patch-${counter}` });
    assert.equal(patched.response_status, 200);
    for (const [socket, requestId] of subscribers) {
      assert.deepEqual(await socket.next(10_000), {
        errors: [],
        data: { ...row, counter },
        action: 'update',
        response_status: 200,
        request_id: requestId,
      });
    }
  }

  before(async () => {
    const { databaseUrl, redisUrl } = services as Services;
    const redis = new URL(redisUrl);
    // The gateways reach Redis through a proxy the test can cut; the server itself is left alone.
    proxy = await TcpProxy.start({ host: redis.hostname || '127.0.0.1', port: Number(redis.port || 6379) });
    admin = await RedisAdmin.connect(redisUrl);
    database = await createTestDatabase(databaseUrl);
    prefix = uniqueRedisPrefix();
    const proxied = new URL(redisUrl);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    const env = { DATABASE_URL: database.url, REDIS_URL: proxied.toString(), REDIS_PREFIX: prefix };
    [a, b] = await Promise.all([GatewayProcess.start(env), GatewayProcess.start(env)]);

    writer = await TestSocket.open(`${a.wsUrl}/ws/things/`);
    row = (await writer.request({ action: 'create', data: { name: 'watched' }, request_id: 'create' })).data;
    subscribers = [];
    for (const [gateway, requestId] of [
      [a, 'on-a'],
      [b, 'on-b'],
    ] as const) {
      const socket = await TestSocket.open(`${gateway.wsUrl}/ws/things/`);
      assert.equal((await socket.request({ action: 'subscribe_many', request_id: requestId })).response_status, 201);
      subscribers.push([socket, requestId]);
    }
    await writeAndExpect(1);
  });

  after(async () => {
    writer?.close();
    for (const [socket] of subscribers ?? []) socket.close();
    await Promise.all([a?.stop(), b?.stop()]);
    admin?.close();
    await proxy?.close();
    await database?.drop();
  });

  test('CLIENT KILL TYPE pubsub: each process resubscribes and every subscriber gets new writes again', async () => {
    const [fromA, fromB] = [a.logs.length, b.logs.length];
    assert.equal(await admin.killClients('pubsub', prefix), 2, 'one subscriber connection per process');
    const resubscribed = (line: { msg?: string }) => line.msg === 'redis reconnected and resubscribed';
    await Promise.all([a.waitForLog(resubscribed, 15_000, fromA), b.waitForLog(resubscribed, 15_000, fromB)]);
    // Every model's changes come through one feed channel per process.
    assert.equal(await admin.subscribers(`${prefix}changes!`), 2);
    await writeAndExpect(2);
    assert.ok(a.alive && b.alive);
  });

  test('CLIENT KILL TYPE normal (the publishers): writes after the reconnect are delivered', async () => {
    const [fromA, fromB] = [a.logs.length, b.logs.length];
    assert.equal(await admin.killClients('normal', prefix), 2, 'one publisher connection per process');
    const reconnected = (line: { msg?: string; client?: unknown }) => line.msg === 'redis reconnected' && line.client === 'publisher';
    await Promise.all([a.waitForLog(reconnected, 15_000, fromA), b.waitForLog(reconnected, 15_000, fromB)]);
    await writeAndExpect(3);
    assert.ok(a.alive && b.alive);
  });

  test('Redis unreachable: /healthz 503, writes meanwhile still reach every subscriber from the log, then 200 and events flow again', async () => {
    proxy.cut();
    await Promise.all([waitForHealth(a.url, 503), waitForHealth(b.url, 503)]);

    // The database still takes the write; its event cannot be published, and every process reads it
    // from the change log at its next poll: nothing is lost.
    await writeAndExpect(4);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    assert.equal(Number(/^dcrf_gateway_events_lost_total (\d+)/m.exec(metrics)?.[1]), 0, 'nothing counted lost');

    proxy.restore();
    await Promise.all([waitForHealth(a.url, 200), waitForHealth(b.url, 200)]);
    // Each change once: the next frame each subscriber gets is the next write.
    await writeAndExpect(5);
    assert.ok(a.alive && b.alive);
  });
});
