/**
 * Row scopes across processes (issue 12, item 4): two gateway processes (the real CLI) and this test
 * process as a third writer share PostgreSQL and Redis. Each process judges the events of the demo's
 * `notes` on the row's before/after state that the Redis message carries: a note reaches its owner's
 * subscribers on the other process and nobody else's, and a note handed from alice to bob by a write in
 * a third process is a delete (with the state alice last saw) for alice and a create for bob.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { openDemoDatabase } from '../../src/demo/app.js';
import { createToken } from '../../src/demo/auth.js';
import { Note } from '../../src/demo/models.js';
import { Runtime } from '../../src/runtime.js';
import { TestSocket, type TestApp } from '../helpers/app.js';
import { execute, graphqlClient, subscribeLive } from '../helpers/graphql.js';
import { createTestDatabase, uniqueRedisPrefix, type TestDatabase } from '../helpers/postgres.js';
import { GatewayProcess, scaleoutServices, type Services } from '../helpers/scaleout.js';

const services = scaleoutServices();

/** An event frame of a subscription, as DCRF sends it. */
function event(action: string, data: unknown, requestId: unknown, status = 200) {
  return { errors: [], data, action, response_status: status, request_id: requestId };
}

describe('row scopes across gateway processes sharing PostgreSQL and Redis', { skip: 'skip' in services ? services.skip : false }, () => {
  let database: TestDatabase;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let knex: Knex;
  let runtime: Runtime;

  before(async () => {
    const { databaseUrl, redisUrl } = services as Services;
    database = await createTestDatabase(databaseUrl);
    const prefix = uniqueRedisPrefix();
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl, REDIS_PREFIX: prefix };
    // This process writes too (as a third gateway would): a runtime on the same database and Redis,
    // before anyone subscribes.
    knex = await openDemoDatabase(database.url);
    runtime = await Runtime.create({ knex, redisUrl, redisPrefix: prefix });
    [a, b] = await Promise.all([GatewayProcess.start(env), GatewayProcess.start(env)]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await runtime?.close();
    await knex?.destroy();
    await database?.drop();
  });

  test('a note reaches its owner on the other process only; handed to bob by a third process, it leaves alice and enters bob', async () => {
    const alice = await createToken('alice');
    const bob = await createToken('bob');
    const as = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
    const aliceOnA = await TestSocket.open(`${a.wsUrl}/ws/notes/`, as(alice));
    const aliceOnB = await TestSocket.open(`${b.wsUrl}/ws/notes/`, as(alice));
    const bobOnB = await TestSocket.open(`${b.wsUrl}/ws/notes/`, as(bob));
    const graphqlOnA = graphqlClient({ wsUrl: a.wsUrl } as TestApp, { token: alice });
    try {
      assert.equal((await aliceOnA.request({ action: 'subscribe_many', request_id: 'a' })).response_status, 201);
      assert.equal((await bobOnB.request({ action: 'subscribe_many', request_id: 'b' })).response_status, 201);
      const activity = await subscribeLive(graphqlOnA, 'subscription { noteActivity { action data { id owner text } } }');

      const bobs = (await bobOnB.request({ action: 'create', data: { text: 'bob on B' }, request_id: 1 })).data;
      assert.deepEqual(await bobOnB.next(5000), event('create', bobs, 'b'));
      const alices = (await aliceOnB.request({ action: 'create', data: { text: 'alice on B' }, request_id: 2 })).data;
      // Alice's first events on A are her own note: bob's never crossed over to her.
      assert.deepEqual(await aliceOnA.next(5000), event('create', alices, 'a'));
      const asGraphQL = (row: { id: number; owner: number; text: string }) => ({
        id: String(row.id),
        owner: String(row.owner),
        text: row.text,
      });
      assert.deepEqual((await activity.next(5000)).data, { noteActivity: { action: 'CREATE', data: asGraphQL(alices) } });

      await Note.query().patch({ owner: bobs.owner }).where('id', alices.id);
      assert.deepEqual(await aliceOnA.next(5000), event('delete', alices, 'a', 204));
      assert.deepEqual((await activity.next(5000)).data, { noteActivity: { action: 'DELETE', data: asGraphQL(alices) } });
      assert.deepEqual(await bobOnB.next(5000), event('create', { ...alices, owner: bobs.owner }, 'b'));

      // Bob's edit of it now reaches bob only: alice's next event on A is her next own note.
      assert.equal(
        (await bobOnB.request({ action: 'patch', pk: alices.id, data: { text: 'bob now' }, request_id: 3 })).response_status,
        200,
      );
      assert.deepEqual(await bobOnB.next(5000), event('update', { ...alices, owner: bobs.owner, text: 'bob now' }, 'b'));
      const second = (await aliceOnB.request({ action: 'create', data: { text: 'second' }, request_id: 4 })).data;
      assert.deepEqual(await aliceOnA.next(5000), event('create', second, 'a'));
      assert.deepEqual((await activity.next(5000)).data, { noteActivity: { action: 'CREATE', data: asGraphQL(second) } });
      assert.deepEqual((await execute(graphqlOnA, '{ notes { text } }')).data, { notes: [{ text: 'second' }] });
      activity.dispose();
    } finally {
      await graphqlOnA.dispose();
      for (const socket of [aliceOnA, aliceOnB, bobOnB]) socket.close();
    }
  });
});
