/**
 * Two gateway processes (the real CLI) sharing one PostgreSQL database and one Redis: what is
 * written through one reaches the subscribers of the other, once each and in commit order.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { QuietWebSocket, TestSocket, type TestApp } from '../helpers/app.js';
import { graphqlClient, subscribeLive } from '../helpers/graphql.js';
import { createTestDatabase, uniqueRedisPrefix, type TestDatabase } from '../helpers/postgres.js';
import { GatewayProcess, scaleoutServices, type Services } from '../helpers/scaleout.js';

const services = scaleoutServices();

type DcrfClient = {
  create(stream: string, data: object): Promise<any>;
  patch(stream: string, pk: number, data: object): Promise<any>;
  delete(stream: string, pk: number): Promise<any>;
  subscribe(stream: string, pk: number, callback: (data: any, action: string) => void): Promise<unknown>;
  close(unsubscribe?: boolean): void;
};

async function dcrfClient(url: string): Promise<DcrfClient> {
  const DCRF = (await import('dcrf-client')).default as unknown as { connect(url: string, options: object): DcrfClient };
  return DCRF.connect(`${url}/ws`, { websocket: { WebSocket: QuietWebSocket, maxRetries: 0 } });
}

/** Collects callback events and hands them out in order. */
class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(item: T) => void> = [];
  push = (item: T): void => {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  };
  next(timeoutMs = 5000): Promise<T> {
    if (this.items.length) return Promise.resolve(this.items.shift()!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((item) => {
        clearTimeout(timer);
        resolve(item);
      });
    });
  }
  get pending(): number {
    return this.items.length;
  }
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('two gateway processes sharing PostgreSQL and Redis', { skip: 'skip' in services ? services.skip : false }, () => {
  let database: TestDatabase;
  let a: GatewayProcess;
  let b: GatewayProcess;

  before(async () => {
    const { databaseUrl, redisUrl } = services as Services;
    database = await createTestDatabase(databaseUrl);
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl, REDIS_PREFIX: uniqueRedisPrefix() };
    // Started together: both run migrations on the same empty database at once.
    [a, b] = await Promise.all([GatewayProcess.start(env), GatewayProcess.start(env)]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  test('a write on A reaches subscribe_instance, subscribe_many and GraphQL subscribers on B exactly once, in commit order', async () => {
    const writerA = await dcrfClient(a.wsUrl);
    const writerB = await dcrfClient(b.wsUrl);
    const readerB = await dcrfClient(b.wsUrl);
    const manyOnB = await TestSocket.open(`${b.wsUrl}/ws/things/`);
    const manyOnA = await TestSocket.open(`${a.wsUrl}/ws/things/`);
    const graphqlOnB = graphqlClient({ wsUrl: b.wsUrl } as TestApp);
    try {
      const row = await writerA.create('things', { name: 'shared' });
      assert.deepEqual(row, { pk: row.pk, name: 'shared', counter: 0 });

      const instanceEvents = new Inbox<{ action: string; data: any }>();
      await readerB.subscribe('things', row.pk, (data, action) => instanceEvents.push({ action, data }));
      assert.equal((await manyOnB.request({ action: 'subscribe_many', request_id: 'many-b' })).response_status, 201);
      assert.equal((await manyOnA.request({ action: 'subscribe_many', request_id: 'many-a' })).response_status, 201);
      const activityOnB = await subscribeLive(graphqlOnB, 'subscription { thingActivity { action data { id name counter } } }');
      const changedOnB = await subscribeLive(
        graphqlOnB,
        'subscription ($id: ID!) { thingChanged(id: $id) { action data { id counter } } }',
        { id: String(row.pk) },
      );

      // Writes alternate between the processes, each awaited: that is their commit order.
      for (let counter = 1; counter <= 8; counter++) {
        const writer = counter % 2 ? writerA : writerB;
        assert.deepEqual(await writer.patch('things', row.pk, { counter }), { ...row, counter });
      }
      const other = await writerA.create('things', { name: 'other' });
      await writerA.delete('things', other.pk);

      const expectedMany = [
        ...Array.from({ length: 8 }, (_, i) => ({ action: 'update', data: { ...row, counter: i + 1 }, response_status: 200 })),
        { action: 'create', data: other, response_status: 200 },
        { action: 'delete', data: other, response_status: 204 },
      ];
      for (const [socket, requestId] of [
        [manyOnB, 'many-b'],
        [manyOnA, 'many-a'],
      ] as const) {
        for (const expected of expectedMany) {
          assert.deepEqual(await socket.next(5000), { errors: [], ...expected, request_id: requestId });
        }
      }
      for (let counter = 1; counter <= 8; counter++) {
        assert.deepEqual(await instanceEvents.next(), { action: 'update', data: { ...row, counter } });
      }
      // GraphQL subscribers on B read the same topics.
      const asGraphQL = (data: { pk: number; name: string; counter: number }) => ({
        id: String(data.pk),
        name: data.name,
        counter: data.counter,
      });
      for (const expected of expectedMany) {
        assert.deepEqual((await activityOnB.next(5000)).data, {
          thingActivity: { action: expected.action.toUpperCase(), data: asGraphQL(expected.data) },
        });
      }
      for (let counter = 1; counter <= 8; counter++) {
        assert.deepEqual((await changedOnB.next(5000)).data, { thingChanged: { action: 'UPDATE', data: { id: String(row.pk), counter } } });
      }
      // Exactly once: nothing more arrives on any subscription.
      assert.equal(await manyOnB.quiet(300), true);
      assert.equal(await manyOnA.quiet(50), true);
      assert.equal(instanceEvents.pending, 0);
      assert.equal(activityOnB.unread + changedOnB.unread, 0);
    } finally {
      await graphqlOnB.dispose();
      for (const client of [writerA, writerB, readerB]) client.close(false);
      manyOnA.close();
      manyOnB.close();
    }
  });

  test('a custom signal sent on A (chat join_chat) reaches DCRF and GraphQL chat subscribers on B', async () => {
    const listener = await TestSocket.open(`${b.wsUrl}/ws/chat/`);
    const joiner = await TestSocket.open(`${a.wsUrl}/ws/chat/`);
    const graphqlOnB = graphqlClient({ wsUrl: b.wsUrl } as TestApp);
    try {
      const subscribed = await listener.request({ action: 'subscribe_joined', chat_id: 'lobby', request_id: 'join-sub' });
      assert.equal(subscribed.response_status, 201);
      const joinedOnB = await subscribeLive(graphqlOnB, 'subscription { joinedChat(chatId: "lobby") { username chatId } }');
      assert.equal((await joiner.request({ action: 'join_chat', chat_id: 'lobby', request_id: 1 })).response_status, 204);
      assert.deepEqual(await listener.next(5000), {
        errors: [],
        data: { username: 'anonymous', chat_id: 'lobby' },
        action: 'joined_chat',
        response_status: 200,
        request_id: 'join-sub',
      });
      assert.deepEqual((await joinedOnB.next(5000)).data, { joinedChat: { username: 'anonymous', chatId: 'lobby' } });
      // Another chat's joins do not reach this subscriber.
      assert.equal((await joiner.request({ action: 'join_chat', chat_id: 'elsewhere', request_id: 2 })).response_status, 204);
      assert.equal(await listener.quiet(300), true);
      assert.equal(joinedOnB.unread, 0);
    } finally {
      await graphqlOnB.dispose();
      listener.close();
      joiner.close();
    }
  });

  test('a write to a model no process observes is not captured; once B observes it, writes on A reach B', async () => {
    const published = async (gateway: GatewayProcess) => {
      const text = await (await fetch(`${gateway.url}/metrics`)).text();
      return Number(/^dcrf_gateway_events_published_total (\d+)/m.exec(text)?.[1]);
    };
    const writer = await TestSocket.open(`${a.wsUrl}/ws/tests/`);
    const watcher = await TestSocket.open(`${b.wsUrl}/ws/tests/`);
    try {
      const before = await published(a);
      assert.ok(Number.isInteger(before));
      const unseen = await writer.request({ action: 'create', data: { name: 'unseen' }, request_id: 1 });
      assert.equal(unseen.response_status, 201);
      assert.equal(await published(a), before, 'nobody observes Test: nothing published');

      assert.equal((await watcher.request({ action: 'subscribe_activity', request_id: 'activity' })).response_status, 201);
      const seen = await writer.request({ action: 'create', data: { name: 'seen' }, request_id: 2 });
      assert.deepEqual(await watcher.next(5000), {
        errors: [],
        data: seen.data,
        action: 'create',
        response_status: 200,
        request_id: 'activity',
      });
      assert.ok((await published(a)) > before);
    } finally {
      writer.close();
      watcher.close();
    }
  });

  test('PostgreSQL: a pk its integer column cannot hold is a 404 "Not found", not a database error', async () => {
    const socket = await TestSocket.open(`${a.wsUrl}/ws/things/`);
    try {
      for (const [index, pk] of [2147483648, '2147483648', -2147483649, 9007199254740991].entries()) {
        for (const action of ['retrieve', 'patch', 'delete', 'subscribe_instance']) {
          const answer = await socket.request({ action, pk, data: { name: 'x' }, request_id: `${action}-${index}` });
          assert.deepEqual(
            answer,
            { errors: ['Not found'], data: null, action, response_status: 404, request_id: `${action}-${index}` },
            `${action} ${pk}`,
          );
        }
      }
    } finally {
      socket.close();
    }
  });

  test('SIGTERM: sockets close with 1001, a transaction still running commits and its event is published, exit 0', async () => {
    const watcherOnA = await TestSocket.open(`${a.wsUrl}/ws/things/`);
    const row = (await watcherOnA.request({ action: 'create', data: { name: 'last' }, request_id: 1 })).data;
    assert.equal((await watcherOnA.request({ action: 'subscribe_instance', pk: row.pk, request_id: 'last' })).response_status, 201);
    const socketOnB = await TestSocket.open(`${b.wsUrl}/ws/things/`);
    // Hold the row's lock from outside, so B's patch is still inside its transaction when B is told to stop.
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM things WHERE id = $1 FOR UPDATE', [row.pk]);
      socketOnB.send({ action: 'patch', pk: row.pk, data: { counter: 42 }, request_id: 'in-flight' });
      await waitUntil(
        async () =>
          (
            await locker.query(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
          ).rows[0].n > 0,
      );

      const exitCode = b.stop('SIGTERM');
      assert.equal(await socketOnB.closed, 1001);
      await locker.query('COMMIT');
      // B finishes the transaction it had started, publishes its event, then exits cleanly.
      assert.deepEqual(await watcherOnA.next(10_000), {
        errors: [],
        data: { ...row, counter: 42 },
        action: 'update',
        response_status: 200,
        request_id: 'last',
      });
      assert.equal(await exitCode, 0);
    } finally {
      await locker.end();
      watcherOnA.close();
    }
    const survivor = await TestSocket.open(`${a.wsUrl}/ws/things/`);
    assert.equal((await survivor.request({ action: 'retrieve', pk: row.pk, request_id: 2 })).data.counter, 42);
    survivor.close();
  });
});
