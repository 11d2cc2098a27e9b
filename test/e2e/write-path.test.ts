/**
 * The write path's reads and statements (db/row-reads.ts, Resource.write): a patch reads its row
 * once and, on PostgreSQL, writes it with one UPDATE that returns it; the reply, the event and a
 * later read agree; a key the column cannot hold is a 404 on every lookup action, as through the
 * query builder.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { thingResource } from '../../src/demo/resources.js';
import { resourceCall } from '../../src/resources/resource.js';
import { Runtime } from '../../src/runtime.js';
import type { ConnectionScope } from '../../src/scope.js';
import { reply, startTestApp, TestSocket, type TestApp } from '../helpers/app.js';

let app: TestApp;
let things: TestSocket;
const postgres = Boolean(process.env.TEST_DATABASE_URL);

before(async () => {
  app = await startTestApp();
  things = await TestSocket.open(`${app.wsUrl}/ws/things/`);
});
after(async () => {
  things.close();
  await app.close();
});

/** The statements this process sends PostgreSQL that name `table`, while `work` runs. */
async function statementsOn<T>(table: string, work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const query = pg.Client.prototype.query;
  const names = new RegExp(`\\b${table}\\b`);
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string };
    const text = typeof config === 'string' ? config : (config?.text ?? '');
    if (names.test(text) && !text.includes('dcrf_change_log')) statements.push(text);
    return (query as (...args: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    return { result: await work(), statements };
  } finally {
    pg.Client.prototype.query = query;
  }
}

describe('the write path', () => {
  test('a patch replies with the row as the write left it, the same row its event carries and a retrieve reads', async () => {
    const created = await things.request({ action: 'create', data: { name: 'before' }, request_id: 1 });
    assert.equal(created.response_status, 201, JSON.stringify(created));
    const pk = created.data.pk;
    const watcher = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    try {
      assert.equal((await watcher.request({ action: 'subscribe_instance', pk, request_id: 'w' })).response_status, 201);
      const patched = await things.request({ action: 'patch', pk, data: { counter: 7 }, request_id: 2 });
      assert.deepEqual(patched, reply('patch', { pk, name: 'before', counter: 7 }, 200, 2));
      const event = await watcher.next(5000);
      assert.equal(event.action, 'update');
      assert.deepEqual(event.data, patched.data);
      assert.deepEqual(await things.request({ action: 'retrieve', pk, request_id: 3 }), reply('retrieve', patched.data, 200, 3));
    } finally {
      watcher.close();
    }
  });

  test('PostgreSQL: a patch reads its row once and writes it with one UPDATE that returns it', {
    skip: !postgres && 'PostgreSQL pass only',
  }, async () => {
    const pk = (await things.request({ action: 'create', data: { name: 'counted' }, request_id: 4 })).data.pk;
    const { result, statements } = await statementsOn('things', () =>
      things.request({ action: 'patch', pk, data: { name: 'counted twice' }, request_id: 5 }),
    );
    assert.deepEqual(result, reply('patch', { pk, name: 'counted twice', counter: 0 }, 200, 5));
    assert.equal(statements.length, 2, statements.join('\n'));
    assert.match(statements[0]!, /^select/i);
    assert.match(statements[1]!, /^update .* returning \*/i);
  });

  test("PostgreSQL under knex's other client names ('postgresql', 'postgres'): a retrieve is the same prepared read", {
    skip: !postgres && 'PostgreSQL pass only',
  }, async () => {
    const pk = (await things.request({ action: 'create', data: { name: 'aliased' }, request_id: 6 })).data.pk;
    for (const client of ['postgresql', 'postgres']) {
      const knex: Knex = knexFactory({ ...(app.knex.client.config as Knex.Config), client });
      const runtime = await Runtime.create({ knex });
      try {
        const scope = { user: null, runtime, extra: {} } as unknown as ConnectionScope;
        const { result, statements } = await statementsOn('things', () => thingResource.retrieve(resourceCall(scope), pk));
        assert.deepEqual(result, { pk, name: 'aliased', counter: 0 }, client);
        assert.deepEqual(statements, ['select * from "things" where "id" = $1 limit 1'], client);
      } finally {
        await runtime.close();
        await knex.destroy();
      }
    }
  });

  test('a key the column cannot hold (2^40 for an integer column) is a 404 on every lookup action', async () => {
    const pk = 2 ** 40;
    for (const [index, action] of ['retrieve', 'update', 'patch', 'delete', 'subscribe_instance'].entries()) {
      assert.deepEqual(
        await things.request({ action, pk, data: { name: 'x' }, request_id: 10 + index }),
        reply(action, null, 404, 10 + index, ['Not found']),
        action,
      );
    }
  });
});
