/**
 * The change feed over GraphQL (docs/positions.md, "GraphQL"), over real sockets: `Query.changePosition`
 * anchors a read, every subscription field over model rows resumes `after` it (the missed events in
 * commit order, then live ones, nothing twice), every event has its `position`, and refused positions
 * are BAD_USER_INPUT (400) or POSITION_EXPIRED (410, with the head).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'graphql-ws';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { execute, graphqlClient, post, Recorded, subscribeLive } from '../helpers/graphql.js';
import { operate } from '../helpers/graphql-protocols.js';

let app: TestApp;
let client: Client;
before(async () => {
  app = await startTestApp();
  client = graphqlClient(app);
  // The models are live (logged) once something in the app subscribed to them, as in a running app;
  // the test at the end covers a model nobody ever subscribed to.
  const alice = graphqlClient(app, { token: await app.token('alice') });
  for (const [on, query] of [
    [client, 'subscription { thingActivity { action } }'],
    [client, 'subscription { classroomActivity { action } }'],
    [alice, 'subscription { noteActivity { action } }'],
    [client, 'subscription { testActivity { action } }'],
    [client, 'subscription { productActivity { action } }'],
  ] as const) {
    (await subscribeLive(on, query)).dispose();
  }
  await alice.dispose();
});
after(async () => {
  await client.dispose();
  await app.close();
});

/** Runs an operation and returns its data (failing on errors). */
async function run<T = any>(query: string, variables?: Record<string, unknown>, on: Client = client): Promise<T> {
  const result = await execute<T>(on, query, variables);
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data as T;
}

/** The head now, as a client reads it. */
async function head(on: Client = client): Promise<string> {
  return (await run<{ changePosition: string }>('{ changePosition }', undefined, on)).changePosition;
}

/** Reads `count` events of a subscription; checks the positions are strings, all distinct. */
async function events(recorded: Recorded, field: string, count: number): Promise<any[]> {
  const out: any[] = [];
  for (let i = 0; i < count; i++) {
    const result = await recorded.next();
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    out.push((result.data as Record<string, unknown>)[field]);
  }
  const positions = out.map((event) => event.position);
  assert.ok(positions.every((position) => typeof position === 'string' && position.length <= 64));
  assert.equal(new Set(positions).size, positions.length, 'no position twice');
  return out;
}

describe('resume after a position', () => {
  test('thingActivity: read with changePosition, miss creates / updates / deletes, resume after it; then live', async () => {
    const { changePosition: p0, things } = await run('{ changePosition things { id } }');
    assert.ok(Array.isArray(things));
    const x = (await run('mutation { createThing(input: {name: "gx"}) { id } }')).createThing.id;
    await run('mutation($id: ID!) { patchThing(id: $id, input: {counter: 4}) { id } }', { id: x });
    await run('mutation($id: ID!) { deleteThing(id: $id) }', { id: x });

    const recorded = await subscribeLive(
      client,
      'subscription($p: String) { thingActivity(after: $p) { action position data { id name counter } } }',
      { p: p0 },
    );
    const replayed = await events(recorded, 'thingActivity', 3);
    assert.deepEqual(
      replayed.map((event) => [event.action, event.data]),
      [
        ['CREATE', { id: x, name: 'gx', counter: 0 }],
        ['UPDATE', { id: x, name: 'gx', counter: 4 }],
        ['DELETE', { id: x, name: 'gx', counter: 4 }],
      ],
    );
    const y = (await run('mutation { createThing(input: {name: "gy"}) { id } }')).createThing.id;
    const [live] = await events(recorded, 'thingActivity', 1);
    assert.deepEqual([live.action, live.data.id], ['CREATE', y]);
    assert.ok(!replayed.some((event) => event.position === live.position));
    assert.equal(recorded.unread, 0);
    recorded.dispose();
  });

  test('thingChanged(id, after): the missed updates and the delete of a row gone since', async () => {
    const id = (await run('mutation { createThing(input: {name: "one"}) { id } }')).createThing.id;
    const p0 = await head();
    await run('mutation($id: ID!) { patchThing(id: $id, input: {counter: 1}) { id } }', { id });
    await run('mutation($id: ID!) { deleteThing(id: $id) }', { id });
    const recorded = new Recorded(
      client,
      'subscription($id: ID!, $p: String) { thingChanged(id: $id, after: $p) { action position data { id counter } } }',
      { id, p: p0 },
    );
    const replayed = await events(recorded, 'thingChanged', 2);
    assert.deepEqual(
      replayed.map((event) => [event.action, event.data.counter]),
      [
        ['UPDATE', 1],
        ['DELETE', 1],
      ],
    );
    recorded.dispose();
  });

  test('classroomActivity(schoolId, after): a row leaving and entering the school, judged on each change', async () => {
    const s1 = (await run('mutation { createSchool(input: {name: "g1"}) { id } }')).createSchool.id;
    const s2 = (await run('mutation { createSchool(input: {name: "g2"}) { id } }')).createSchool.id;
    const p0 = await head();
    const room = (await run('mutation($s: ID!) { createClassroom(input: {name: "gr", school: $s}) { id } }', { s: s1 })).createClassroom.id;
    await run('mutation($id: ID!, $s: ID!) { patchClassroom(id: $id, input: {school: $s}) { id } }', { id: room, s: s2 });
    await run('mutation($id: ID!) { patchClassroom(id: $id, input: {name: "elsewhere"}) { id } }', { id: room });
    await run('mutation($id: ID!, $s: ID!) { patchClassroom(id: $id, input: {school: $s}) { id } }', { id: room, s: s1 });
    const recorded = await subscribeLive(
      client,
      'subscription($s: ID, $p: String) { classroomActivity(schoolId: $s, after: $p) { action position data { id name } } }',
      { s: s1, p: p0 },
    );
    const replayed = await events(recorded, 'classroomActivity', 3);
    assert.deepEqual(
      replayed.map((event) => [event.action, event.data.name]),
      [
        ['CREATE', 'gr'],
        ['DELETE', 'gr'],
        ['CREATE', 'elsewhere'],
      ],
    );
    assert.equal(recorded.unread, 0, 'the change made in the other school is not replayed');
    recorded.dispose();
  });

  test('noteActivity(after): alice resumes and hears of her own notes only', async () => {
    const alice = graphqlClient(app, { token: await app.token('alice') });
    const bob = graphqlClient(app, { token: await app.token('bob') });
    const p0 = await head(alice);
    await run('mutation { createNote(input: {text: "bob only"}) { id } }', undefined, bob);
    const mine = (await run('mutation { createNote(input: {text: "alice"}) { id } }', undefined, alice)).createNote.id;
    const recorded = await subscribeLive(
      alice,
      'subscription($p: String) { noteActivity(after: $p) { action position data { id text } } }',
      { p: p0 },
    );
    const [only] = await events(recorded, 'noteActivity', 1);
    assert.deepEqual([only.action, only.data], ['CREATE', { id: mine, text: 'alice' }]);
    assert.equal(recorded.unread, 0);
    recorded.dispose();
    await alice.dispose();
    await bob.dispose();
  });

  test('testActivity, testChanged, productActivity, productChanged, classroomActivity(classroomId): each replays what it missed', async () => {
    const testId = (await run('mutation { createTest(input: {name: "t"}) { id } }')).createTest.id;
    const productId = (await run('mutation { createProduct(input: {name: "P", slug: "p-feed", price: "2.00"}) { id } }')).createProduct.id;
    const school = (await run('mutation { createSchool(input: {name: "gc"}) { id } }')).createSchool.id;
    const room = (await run('mutation($s: ID!) { createClassroom(input: {name: "c", school: $s}) { id } }', { s: school })).createClassroom
      .id;
    const p0 = await head();
    await run('mutation($id: ID!) { patchTest(id: $id, input: {name: "t2"}) { id } }', { id: testId });
    await run('mutation($id: ID!) { patchProduct(id: $id, input: {name: "P2"}) { id } }', { id: productId });
    await run('mutation($id: ID!) { patchClassroom(id: $id, input: {name: "c2"}) { id } }', { id: room });
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ['testActivity', 'subscription($p: String) { testActivity(after: $p) { action position data { id } } }', {}],
      [
        'testChanged',
        'subscription($p: String, $id: ID!) { testChanged(id: $id, after: $p) { action position data { id } } }',
        { id: testId },
      ],
      ['productActivity', 'subscription($p: String) { productActivity(after: $p) { action position data { id } } }', {}],
      [
        'productChanged',
        'subscription($p: String, $id: ID!) { productChanged(id: $id, after: $p) { action position data { id } } }',
        { id: productId },
      ],
      [
        'classroomActivity',
        'subscription($p: String, $id: ID) { classroomActivity(classroomId: $id, after: $p) { action position data { id } } }',
        { id: room },
      ],
    ];
    for (const [field, query, variables] of cases) {
      const recorded = await subscribeLive(client, query, { ...variables, p: p0 });
      const [event] = await events(recorded, field, 1);
      assert.equal(event.action, 'UPDATE', field);
      assert.equal(recorded.unread, 0, field);
      recorded.dispose();
    }
  });

  test('every event has a position, with or without after; "latest" is live from now', async () => {
    const plain = await subscribeLive(client, 'subscription { thingActivity { action position } }');
    const latest = await subscribeLive(client, 'subscription { thingActivity(after: "latest") { action position } }');
    await run('mutation { createThing(input: {name: "pos"}) { id } }');
    const [a] = await events(plain, 'thingActivity', 1);
    const [b] = await events(latest, 'thingActivity', 1);
    assert.equal(a.position, b.position, 'one change, one position');
    plain.dispose();
    latest.dispose();
  });
});

describe('changePosition and refused positions', () => {
  test('changePosition over HTTP: the head when the operation began; a write moves it', async () => {
    const before = await post(app, '{ changePosition }');
    assert.equal(before.status, 200);
    assert.equal(typeof before.body.data.changePosition, 'string');
    await run('mutation { createThing(input: {name: "moves"}) { id } }');
    const later = await post(app, 'query Q { ...F } fragment F on Query { changePosition }');
    assert.notEqual(later.body.data.changePosition, before.body.data.changePosition);
  });

  for (const protocol of ['graphql-transport-ws', 'graphql-ws'] as const) {
    test(`${protocol}: a malformed after is BAD_USER_INPUT 400; an expired one POSITION_EXPIRED 410 with the head`, async () => {
      const subscription = 'subscription($p: String) { thingActivity(after: $p) { position } }';
      const malformed = await operate(app, protocol, subscription, { p: 'not a position' });
      assert.equal(malformed.errors.length, 1, JSON.stringify(malformed));
      assert.deepEqual([malformed.errors[0]!.extensions?.code, malformed.errors[0]!.extensions?.status], ['BAD_USER_INPUT', 400]);
      const expired = await operate(app, protocol, subscription, { p: 'zzzzzzzzzzzz.1' });
      assert.equal(expired.errors.length, 1, JSON.stringify(expired));
      const extensions = expired.errors[0]!.extensions as { code?: string; status?: number; position?: unknown };
      assert.deepEqual([extensions.code, extensions.status, typeof extensions.position], ['POSITION_EXPIRED', 410, 'string']);
      const id = (await run('mutation { createThing(input: {name: "expired"}) { id } }')).createThing.id;
      const instance = await operate(
        app,
        protocol,
        'subscription($id: ID!) { thingChanged(id: $id, after: "zzzzzzzzzzzz.1") { position } }',
        { id },
      );
      assert.equal(instance.errors[0]?.extensions?.code, 'POSITION_EXPIRED');
    });
  }
});

describe('the recipe on a model nobody subscribed to yet', () => {
  // A fresh app each, so the read is the first anything asks of its model (one whose writes the ORM
  // hooks capture): changePosition must have it logged before it takes the head. Root fields, a named
  // fragment and an inline one, on each transport.
  const cases = [
    ['http', '{ changePosition tests { count } }', 'mutation { createTest(input: {name: "gap"}) { id } }', 'testActivity'],
    [
      'graphql-transport-ws',
      'query Q { ...F } fragment F on Query { changePosition product(id: 1) { id } }',
      'mutation { createProduct(input: {name: "Gap", slug: "gap", price: "1.00"}) { id } }',
      'productActivity',
    ],
    [
      'graphql-ws',
      '{ ... on Query { changePosition tests(limit: 2) { count } } }',
      'mutation { createTest(input: {name: "gap"}) { id } }',
      'testActivity',
    ],
  ] as const;

  for (const [protocol, read, write, field] of cases) {
    test(`${protocol}: read with changePosition, a write, subscribe ${field} after the position: the write is replayed`, async () => {
      const fresh = await startTestApp();
      const on = graphqlClient(fresh);
      try {
        const answer = await operate(fresh, protocol, read);
        assert.deepEqual(answer.errors, []);
        const p0 = answer.data.changePosition as string;
        await run(write, undefined, on);
        const recorded = await subscribeLive(on, `subscription($p: String) { ${field}(after: $p) { action position } }`, { p: p0 });
        const [created] = await events(recorded, field, 1);
        assert.equal(created.action, 'CREATE');
        recorded.dispose();
      } finally {
        await on.dispose();
        await fresh.close();
      }
    });
  }
});
