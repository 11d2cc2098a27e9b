/**
 * GraphQL over WebSocket (graphql-transport-ws) with the real graphql-ws client: queries, mutations,
 * every demo subscription, error codes, authentication, several operations on one socket.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'graphql-ws';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { execute, graphqlClient, Recorded, subscribeLive } from '../helpers/graphql.js';

let app: TestApp;
let client: Client;
let aliceToken: string;
before(async () => {
  app = await startTestApp();
  aliceToken = await app.token('alice');
  client = graphqlClient(app);
});
after(async () => {
  await client.dispose();
  await app.close();
});

test('queries and mutations round-trip with the serialized shapes', async () => {
  const created = await execute(client, 'mutation($input: ThingInput!) { createThing(input: $input) { id name counter } }', {
    input: { name: 'ws-thing', counter: 2 },
  });
  assert.equal(created.errors, undefined);
  const thing = created.data.createThing;
  assert.deepEqual(thing, { id: thing.id, name: 'ws-thing', counter: 2 });
  const read = await execute(
    client,
    'query($id: ID!) { thing(id: $id) { id name counter } things { id } missing: thing(id: "999999") { id } }',
    { id: thing.id },
  );
  assert.deepEqual(read.data.thing, thing);
  assert.ok(read.data.things.some((row: { id: string }) => row.id === thing.id));
  assert.equal(read.data.missing, null);
  assert.equal(read.errors, undefined);

  const patched = await execute(client, 'mutation($id: ID!) { patchThing(id: $id, input: {counter: 5}) { id name counter } }', {
    id: thing.id,
  });
  assert.deepEqual(patched.data.patchThing, { id: thing.id, name: 'ws-thing', counter: 5 });
  const deleted = await execute(client, 'mutation($id: ID!) { deleteThing(id: $id) }', { id: thing.id });
  assert.equal(deleted.data.deleteThing, thing.id);

  const test1 = (await execute(client, 'mutation { createTest(input: {name: "t1"}) { id name } }')).data.createTest;
  const updated = await execute(client, 'mutation($id: ID!) { updateTest(id: $id, input: {name: "t1b"}) { id name } }', { id: test1.id });
  assert.deepEqual(updated.data.updateTest, { id: test1.id, name: 't1b' });
  const page = await execute(client, '{ tests(limit: 1, offset: 0) { count limit offset results { id name } } }');
  assert.deepEqual(page.data.tests, { count: 1, limit: 1, offset: 0, results: [{ id: test1.id, name: 't1b' }] });

  const school = (await execute(client, 'mutation { createSchool(input: {name: "North"}) { id name } }')).data.createSchool;
  const room = await execute(
    client,
    'mutation($s: ID!) { createClassroom(input: {name: "R1", school: $s}) { id name school { id name } } }',
    { s: school.id },
  );
  assert.deepEqual(room.data.createClassroom.school, school);
  const nested = await execute(client, 'query($id: ID!) { school(id: $id) { name classrooms { name school { id } } } schools { id } }', {
    id: school.id,
  });
  assert.deepEqual(nested.data.school, { name: 'North', classrooms: [{ name: 'R1', school: { id: school.id } }] });
});

test('errors carry extensions.code and extensions.status', async () => {
  const blank = await execute(client, 'mutation { createThing(input: {name: ""}) { id } }');
  assert.equal(blank.data, null);
  assert.deepEqual(blank.errors![0]!.extensions, {
    code: 'BAD_USER_INPUT',
    status: 400,
    fields: { name: ['This field may not be blank.'] },
  });
  const long = await execute(client, 'mutation($n: String!) { createThing(input: {name: $n}) { id } }', { n: 'x'.repeat(65) });
  assert.deepEqual(long.errors![0]!.extensions!.fields, { name: ['Ensure this field has no more than 64 characters.'] });
  const unknownSchool = await execute(client, 'mutation { createClassroom(input: {name: "R", school: "7777"}) { id } }');
  assert.deepEqual(unknownSchool.errors![0]!.extensions!.fields, { school: ['Invalid pk "7777" - object does not exist.'] });
  const missing = await execute(client, 'mutation { patchThing(id: "999999", input: {name: "x"}) { id } }');
  assert.deepEqual(missing.errors![0]!.extensions, { code: 'NOT_FOUND', status: 404 });
  const gone = await execute(client, 'mutation { deleteTest(id: "999999") }');
  assert.equal(gone.errors![0]!.extensions!.code, 'NOT_FOUND');
  const anonymousUser = await execute(client, '{ me { id } user(id: "1") { id } }');
  assert.equal(anonymousUser.data!.me, null);
  assert.deepEqual(anonymousUser.errors![0]!.extensions, { code: 'UNAUTHENTICATED', status: 401 });
  assert.deepEqual(anonymousUser.errors![0]!.path, ['user']);
});

test('a token in connectionParams authenticates the socket', async () => {
  for (const connectionParams of [{ authorization: `Bearer ${aliceToken}` }, { token: aliceToken }]) {
    const alice = graphqlClient(app, { connectionParams });
    const result = await execute(alice, '{ me { id username email } }');
    assert.deepEqual(result.data.me, { id: result.data.me.id, username: 'alice', email: 'alice@example.com' });
    const user = await execute(alice, 'query($id: ID!) { user(id: $id) { username } }', { id: result.data.me.id });
    assert.equal(user.data.user.username, 'alice');
    await alice.dispose();
  }
  const byQuery = graphqlClient(app, { token: aliceToken });
  assert.equal((await execute(byQuery, '{ me { username } }')).data.me.username, 'alice');
  await byQuery.dispose();
});

test('thingChanged and thingActivity deliver UPDATE and DELETE (with the last state)', async () => {
  const thing = (await execute(client, 'mutation { createThing(input: {name: "watched"}) { id } }')).data.createThing;
  const changed = await subscribeLive(client, 'subscription($id: ID!) { thingChanged(id: $id) { action data { id name counter } } }', {
    id: thing.id,
  });
  const activity = await subscribeLive(client, 'subscription { thingActivity { action data { id name counter } } }');
  await execute(client, 'mutation($id: ID!) { patchThing(id: $id, input: {counter: 3}) { id } }', { id: thing.id });
  const state = { id: thing.id, name: 'watched', counter: 3 };
  assert.deepEqual((await changed.next()).data, { thingChanged: { action: 'UPDATE', data: state } });
  assert.deepEqual((await activity.next()).data, { thingActivity: { action: 'UPDATE', data: state } });
  await execute(client, 'mutation($id: ID!) { deleteThing(id: $id) }', { id: thing.id });
  assert.deepEqual((await changed.next()).data, { thingChanged: { action: 'DELETE', data: state } });
  assert.deepEqual((await activity.next()).data, { thingActivity: { action: 'DELETE', data: state } });
  const other = (await execute(client, 'mutation { createThing(input: {name: "new"}) { id name counter } }')).data.createThing;
  assert.deepEqual((await activity.next()).data, { thingActivity: { action: 'CREATE', data: other } });
  changed.dispose();
  activity.dispose();
});

test('a subscription to a missing row fails with NOT_FOUND', async () => {
  const missing = new Recorded(client, 'subscription { thingChanged(id: "999999") { action } }');
  await missing.ended();
  const errors = missing.results[0]?.errors ?? (missing.error as Array<{ extensions: unknown }>);
  assert.equal((errors as any)[0].extensions.code, 'NOT_FOUND');
});

test('testChanged and testActivity', async () => {
  const row = (await execute(client, 'mutation { createTest(input: {name: "a"}) { id name } }')).data.createTest;
  const changed = await subscribeLive(client, 'subscription($id: ID!) { testChanged(id: $id) { action data { id name } } }', {
    id: row.id,
  });
  const activity = await subscribeLive(client, 'subscription { testActivity { action data { id name } } }');
  await execute(client, 'mutation($id: ID!) { patchTest(id: $id, input: {name: "b"}) { id } }', { id: row.id });
  assert.deepEqual((await changed.next()).data, { testChanged: { action: 'UPDATE', data: { id: row.id, name: 'b' } } });
  assert.deepEqual((await activity.next()).data, { testActivity: { action: 'UPDATE', data: { id: row.id, name: 'b' } } });
  await execute(client, 'mutation($id: ID!) { deleteTest(id: $id) }', { id: row.id });
  assert.deepEqual((await changed.next()).data, { testChanged: { action: 'DELETE', data: { id: row.id, name: 'b' } } });
  assert.deepEqual((await activity.next()).data, { testActivity: { action: 'DELETE', data: { id: row.id, name: 'b' } } });
  changed.dispose();
  activity.dispose();
});

test('classroomActivity: actions relative to the school group; by classroom id', async () => {
  const s1 = (await execute(client, 'mutation { createSchool(input: {name: "S1"}) { id } }')).data.createSchool.id;
  const s2 = (await execute(client, 'mutation { createSchool(input: {name: "S2"}) { id } }')).data.createSchool.id;
  const bySchool1 = await subscribeLive(
    client,
    'subscription($s: ID) { classroomActivity(schoolId: $s) { action data { id name school { id } } } }',
    { s: s1 },
  );
  const bySchool2 = await subscribeLive(client, 'subscription($s: ID) { classroomActivity(schoolId: $s) { action data { id name } } }', {
    s: s2,
  });
  const room = (await execute(client, 'mutation($s: ID!) { createClassroom(input: {name: "C", school: $s}) { id } }', { s: s1 })).data
    .createClassroom;
  assert.deepEqual((await bySchool1.next()).data, {
    classroomActivity: { action: 'CREATE', data: { id: room.id, name: 'C', school: { id: s1 } } },
  });
  const byRoom = await subscribeLive(client, 'subscription($c: ID) { classroomActivity(classroomId: $c) { action data { id name } } }', {
    c: room.id,
  });
  await execute(client, 'mutation($id: ID!, $s: ID!) { patchClassroom(id: $id, input: {school: $s}) { id } }', { id: room.id, s: s2 });
  assert.deepEqual((await bySchool1.next()).data!.classroomActivity.action, 'DELETE');
  assert.deepEqual((await bySchool2.next()).data, { classroomActivity: { action: 'CREATE', data: { id: room.id, name: 'C' } } });
  assert.deepEqual((await byRoom.next()).data, { classroomActivity: { action: 'UPDATE', data: { id: room.id, name: 'C' } } });
  await execute(client, 'mutation($id: ID!) { deleteClassroom(id: $id) }', { id: room.id });
  assert.deepEqual((await bySchool2.next()).data!.classroomActivity.action, 'DELETE');
  assert.deepEqual((await byRoom.next()).data!.classroomActivity.action, 'DELETE');
  for (const sub of [bySchool1, bySchool2, byRoom]) sub.dispose();
});

test('joinedChat: a join reaches the chat subscribers only, with the caller name', async () => {
  const room1 = await subscribeLive(client, 'subscription { joinedChat(chatId: "room1") { username chatId } }');
  const seven = await subscribeLive(client, 'subscription { joinedChat(chatId: 7) { username chatId } }');
  const alice = graphqlClient(app, { connectionParams: { token: aliceToken } });
  assert.deepEqual((await execute(alice, 'mutation { joinChat(chatId: "room1") }')).data, { joinChat: true });
  assert.deepEqual((await room1.next()).data, { joinedChat: { username: 'alice', chatId: 'room1' } });
  await execute(client, 'mutation { joinChat(chatId: 7) }');
  assert.deepEqual((await seven.next()).data, { joinedChat: { username: 'anonymous', chatId: '7' } });
  assert.equal(room1.unread, 0);
  await alice.dispose();
  room1.dispose();
  seven.dispose();
});

test('userChanged: authenticated only; events for that user', async () => {
  const anonymous = new Recorded(client, 'subscription { userChanged(id: "1") { action } }');
  await anonymous.ended();
  const errors = (anonymous.results[0]?.errors ?? anonymous.error) as any[];
  assert.deepEqual(errors[0].extensions, { code: 'UNAUTHENTICATED', status: 401 });

  const bob = graphqlClient(app, { connectionParams: { token: await app.token('bob') } });
  const me = (await execute(bob, '{ me { id } }')).data.me;
  const changed = await subscribeLive(bob, 'subscription($id: ID!) { userChanged(id: $id) { action data { id username email } } }', {
    id: me.id,
  });
  // Users have no write mutation: change the row through the model, as the app's own code would.
  const { User } = await import('../../src/demo/models.js');
  await User.query().patch({ email: 'bob@new.example.com' }).where('id', Number(me.id));
  assert.deepEqual((await changed.next()).data, {
    userChanged: { action: 'UPDATE', data: { id: me.id, username: 'bob', email: 'bob@new.example.com' } },
  });
  changed.dispose();
  await bob.dispose();
});

test('two subscriptions on one socket; complete from the client stops only its own events', async () => {
  const thing = (await execute(client, 'mutation { createThing(input: {name: "two"}) { id } }')).data.createThing;
  const first = await subscribeLive(client, 'subscription($id: ID!) { thingChanged(id: $id) { data { counter } } }', { id: thing.id });
  const second = await subscribeLive(client, 'subscription($id: ID!) { thingChanged(id: $id) { data { counter } } }', { id: thing.id });
  await execute(client, 'mutation($id: ID!) { patchThing(id: $id, input: {counter: 1}) { id } }', { id: thing.id });
  assert.equal((await first.next()).data!.thingChanged.data.counter, 1);
  assert.equal((await second.next()).data!.thingChanged.data.counter, 1);

  first.dispose(); // sends `complete` for the first id
  await execute(client, '{ __typename }');
  await execute(client, 'mutation($id: ID!) { patchThing(id: $id, input: {counter: 2}) { id } }', { id: thing.id });
  assert.equal((await second.next()).data!.thingChanged.data.counter, 2);
  await execute(client, '{ __typename }');
  assert.equal(first.unread, 0);
  second.dispose();
});
