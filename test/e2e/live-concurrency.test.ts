/**
 * Concurrency: several writers increment shared rows in parallel transactions (some roll back, some
 * write a row twice), several sockets subscribe. Every subscriber must see exactly the committed
 * states of each row, none twice, in commit order; the row counters make that checkable: each
 * committed transaction leaves a row at a new, higher counter.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { raw } from 'objection';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { Thing } from '../../src/demo/models.js';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

const WRITERS = 5;
const TRANSACTIONS_PER_WRITER = 12;

/** A small deterministic generator, so a failure can be replayed. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

class Rollback extends Error {}

test('parallel writers, several subscribers: each sees every committed state once, in commit order per row', async () => {
  const rows = [
    await Thing.query().insert({ name: 'r0' }),
    await Thing.query().insert({ name: 'r1' }),
    await Thing.query().insert({ name: 'r2' }),
  ];
  const ids = rows.map((row) => row.id);

  // Subscribers: three subscribe_many, one socket watching each row by subscribe_instance, one
  // multiplexed things_with_id subscribe_many.
  const many = await Promise.all([0, 1, 2].map(() => TestSocket.open(`${app.wsUrl}/ws/things/`)));
  for (const [i, socket] of many.entries())
    assert.equal((await socket.request({ action: 'subscribe_many', request_id: i })).response_status, 201);
  const instance = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  for (const id of ids)
    assert.equal((await instance.request({ action: 'subscribe_instance', pk: id, request_id: `row-${id}` })).response_status, 201);
  const mux = await TestSocket.open(`${app.wsUrl}/ws`);
  assert.equal(
    (await mux.request({ stream: 'things_with_id', payload: { action: 'subscribe_many', request_id: 'mux' } })).payload.response_status,
    201,
  );

  const committed = new Map<number, number[]>(ids.map((id) => [id, []]));
  let rolledBack = 0;
  const writer = async (seed: number) => {
    const random = generator(seed);
    for (let n = 0; n < TRANSACTIONS_PER_WRITER; n++) {
      // One or two rows, locked in ascending id order (no deadlock on PostgreSQL).
      const touched = ids.filter(() => random() < 0.5);
      if (touched.length === 0) touched.push(ids[Math.floor(random() * ids.length)]!);
      const rollback = random() < 0.25;
      const values = new Map<number, number>();
      try {
        await Thing.transaction(async (trx) => {
          for (const id of touched) {
            const times = random() < 0.3 ? 2 : 1;
            for (let k = 0; k < times; k++)
              await Thing.query(trx)
                .patch({ counter: raw('counter + 1') as any })
                .findById(id);
            const row = await Thing.query(trx).findById(id);
            values.set(id, row!.counter);
          }
          if (rollback) throw new Rollback();
        });
        for (const [id, value] of values) committed.get(id)!.push(value);
      } catch (error) {
        if (!(error instanceof Rollback)) throw error;
        rolledBack++;
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, i) => writer(i + 1)));

  const expected = new Map([...committed].map(([id, values]) => [id, [...values].sort((a, b) => a - b)]));
  const total = [...expected.values()].reduce((sum, values) => sum + values.length, 0);
  assert.ok(rolledBack > 0 && total > 0, `rolled back ${rolledBack}, committed row changes ${total}`);
  for (const [id, values] of expected) {
    const final = (await Thing.query().findById(id))!.counter;
    assert.equal(values.at(-1) ?? 0, final, `row ${id}: the last committed value is the row's counter`);
  }

  /** Reads `count` events from a socket and groups their counters by row, in arrival order. */
  const sequences = async (socket: TestSocket, count: number, unwrap = (frame: any) => frame) => {
    const byRow = new Map<number, number[]>(ids.map((id) => [id, []]));
    for (let i = 0; i < count; i++) {
      const frame = unwrap(await socket.next(10_000));
      assert.equal(frame.action, 'update');
      byRow.get(frame.data.pk ?? frame.data.id)!.push(frame.data.counter);
    }
    assert.ok(await socket.quiet(), 'no event beyond the committed ones');
    return byRow;
  };
  for (const socket of many) assert.deepEqual(await sequences(socket, total), expected);
  assert.deepEqual(await sequences(instance, total), expected);
  assert.deepEqual(await sequences(mux, total, (frame) => frame.payload), expected);
  for (const socket of [...many, instance, mux]) socket.close();
});
