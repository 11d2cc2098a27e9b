/**
 * An app that keeps no change log (no `changeLogMigration`, or `Runtime.create({ changeLog: false })`)
 * answers every request for a position with a clear refusal, never a 500 (docs/positions.md, "Without
 * a change log"): DCRF 400 on the frame's `since` or `with_position`, GraphQL `POSITIONS_OFF` (400) on
 * `after` and `changePosition`, on every transport; frames and operations without them work as before.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { GRAPHQL_PROTOCOLS, operate } from '../helpers/graphql-protocols.js';

const OFF = 'This server keeps no change log: positions are off.';

let app: TestApp;
before(async () => {
  app = await startTestApp({ runtime: { changeLog: false } });
});
after(() => app.close());

const open = (stream: string) => TestSocket.open(`${app.wsUrl}/ws/${stream}/`);

describe('DCRF', () => {
  test('since on every subscribe kind is 400 {"since": [...]}; the same subscribe without it is served', async () => {
    assert.equal(app.runtime.changeLog.enabled, false);
    const things = await open('things');
    const row = (await things.request({ action: 'create', data: { name: 'off' }, request_id: 1 })).data;
    const classrooms = await open('classrooms');
    const tests = await open('tests');
    const refused: Array<[TestSocket, Record<string, unknown>]> = [
      [things, { action: 'subscribe_many', request_id: 'm', since: 'latest' }],
      [things, { action: 'subscribe_many', request_id: 'm', since: 'abcd1234.1' }],
      [things, { action: 'subscribe_instance', pk: row.pk, request_id: 'i', since: 'latest' }],
      [things, { action: 'subscribe_instance', pk: row.pk, request_id: 'i', since: 'abcd1234.1' }],
      [tests, { action: 'subscribe_activity', request_id: 'a', since: 'latest' }],
      [classrooms, { action: 'subscribe_to_classrooms_in_school', school_pk: 1, request_id: 'g', since: 'latest' }],
    ];
    for (const [socket, frame] of refused) {
      assert.deepEqual(
        await socket.request(frame),
        reply(frame.action, null, 400, frame.request_id, [{ since: [OFF] }]),
        JSON.stringify(frame),
      );
    }
    assert.deepEqual(await things.request({ action: 'subscribe_many', request_id: 'm' }), reply('subscribe_many', null, 201, 'm'));
    await things.request({ action: 'patch', pk: row.pk, data: { counter: 1 }, request_id: 2 });
    const event = await things.next();
    assert.deepEqual([event.action, event.request_id, 'position' in event], ['update', 'm', false]);
    for (const socket of [things, classrooms, tests]) socket.close();
  });

  test('with_position on list, retrieve and paginated lists is 400 {"with_position": [...]}; the read without it is served', async () => {
    const things = await open('things');
    const row = (await things.request({ action: 'create', data: { name: 'read' }, request_id: 1 })).data;
    const schools = await open('schools');
    const refused: Array<[TestSocket, Record<string, unknown>]> = [
      [things, { action: 'list', request_id: 'l', with_position: true }],
      [things, { action: 'retrieve', pk: row.pk, request_id: 'r', with_position: true }],
      [schools, { action: 'list', limit: 1, request_id: 'p', with_position: true }],
    ];
    for (const [socket, frame] of refused) {
      assert.deepEqual(
        await socket.request(frame),
        reply(frame.action, null, 400, frame.request_id, [{ with_position: [OFF] }]),
        JSON.stringify(frame),
      );
    }
    assert.deepEqual(await things.request({ action: 'retrieve', pk: row.pk, request_id: 'r' }), reply('retrieve', row, 200, 'r'));
    things.close();
    schools.close();
  });
});

describe('GraphQL', () => {
  for (const protocol of GRAPHQL_PROTOCOLS) {
    test(`${protocol}: changePosition is POSITIONS_OFF (400); the same query without it is served`, async () => {
      const answer = await operate(app, protocol, '{ changePosition things { id } }');
      assert.equal(answer.errors.length, 1, JSON.stringify(answer));
      assert.deepEqual(
        [answer.errors[0]!.message, answer.errors[0]!.extensions?.code, answer.errors[0]!.extensions?.status],
        [OFF, 'POSITIONS_OFF', 400],
      );
      const plain = await operate(app, protocol, '{ things { id } }');
      assert.deepEqual([plain.errors, Array.isArray(plain.data?.things)], [[], true]);
    });
  }

  for (const protocol of ['graphql-transport-ws', 'graphql-ws'] as const) {
    test(`${protocol}: a subscription after a position (or "latest") is POSITIONS_OFF (400)`, async () => {
      const created = await operate(app, 'http', 'mutation { createThing(input: {name: "sub"}) { id } }');
      const id = created.data.createThing.id;
      for (const [query, variables] of [
        ['subscription { thingActivity(after: "latest") { action } }', {}],
        ['subscription($p: String) { testActivity(after: $p) { action } }', { p: 'abcd1234.1' }],
        ['subscription($id: ID!) { thingChanged(id: $id, after: "abcd1234.1") { action } }', { id }],
        ['subscription($id: ID!) { thingChanged(id: $id, after: "latest") { action } }', { id }],
        ['subscription { classroomActivity(schoolId: 1, after: "latest") { action } }', {}],
      ] as const) {
        const answer = await operate(app, protocol, query, variables);
        assert.equal(answer.errors.length, 1, `${query}: ${JSON.stringify(answer)}`);
        assert.deepEqual(
          [answer.errors[0]!.message, answer.errors[0]!.extensions?.code, answer.errors[0]!.extensions?.status],
          [OFF, 'POSITIONS_OFF', 400],
          query,
        );
      }
    });
  }
});
