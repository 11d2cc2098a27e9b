/**
 * One resolver layer and one PubSub for both protocols: GraphQL writes produce the DCRF events, DCRF
 * actions produce the GraphQL subscription events, with the same data, DCRF and GraphQL sockets on
 * one server at once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'graphql-ws';
import { QuietWebSocket, reply, startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { execute, graphqlClient, subscribeLive } from '../helpers/graphql.js';

let app: TestApp;
let client: Client;
before(async () => {
  app = await startTestApp();
  client = graphqlClient(app);
});
after(async () => {
  await client.dispose();
  await app.close();
});

test('a GraphQL mutation produces the DCRF events on /ws/things/', async () => {
  const things = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  assert.deepEqual(await things.request({ action: 'subscribe_many', request_id: 'many' }), reply('subscribe_many', null, 201, 'many'));
  const created = (await execute(client, 'mutation { createThing(input: {name: "from-graphql", counter: 1}) { id name counter } }')).data
    .createThing;
  const pk = Number(created.id);
  assert.deepEqual(await things.next(), reply('create', { pk, name: 'from-graphql', counter: 1 }, 200, 'many'));

  assert.deepEqual(
    await things.request({ action: 'subscribe_instance', pk, request_id: 'one' }),
    reply('subscribe_instance', null, 201, 'one'),
  );
  await execute(client, 'mutation($id: ID!) { patchThing(id: $id, input: {counter: 2}) { id } }', { id: created.id });
  const updates = [await things.next(), await things.next()];
  assert.deepEqual(
    updates.sort((a, b) => String(a.request_id).localeCompare(String(b.request_id))),
    [
      reply('update', { pk, name: 'from-graphql', counter: 2 }, 200, 'many'),
      reply('update', { pk, name: 'from-graphql', counter: 2 }, 200, 'one'),
    ],
  );
  await execute(client, 'mutation($id: ID!) { deleteThing(id: $id) }', { id: created.id });
  const deletes = [await things.next(), await things.next()];
  assert.deepEqual(
    deletes.sort((a, b) => String(a.request_id).localeCompare(String(b.request_id))),
    [reply('delete', { pk, name: 'from-graphql', counter: 2 }, 204, 'many'), reply('delete', { pk }, 204, 'one')],
  );
  things.close();
});

test('GraphQL writes reach DCRF group and signal observers (classrooms, tests, chat)', async () => {
  const school = (await execute(client, 'mutation { createSchool(input: {name: "X"}) { id } }')).data.createSchool.id;
  const multiplexed = await TestSocket.open(`${app.wsUrl}/ws/`);
  const send = (stream: string, payload: object) => multiplexed.request({ stream, payload });
  assert.deepEqual(await send('classrooms', { action: 'subscribe_to_classrooms_in_school', school_pk: Number(school), request_id: 1 }), {
    stream: 'classrooms',
    payload: reply('subscribe_to_classrooms_in_school', null, 201, 1),
  });
  assert.deepEqual(await send('tests', { action: 'subscribe_activity', request_id: 2 }), {
    stream: 'tests',
    payload: reply('subscribe_activity', null, 201, 2),
  });
  assert.deepEqual(await send('chat', { action: 'subscribe_joined', chat_id: 7, request_id: 3 }), {
    stream: 'chat',
    payload: reply('subscribe_joined', null, 201, 3),
  });

  const room = (await execute(client, 'mutation($s: ID!) { createClassroom(input: {name: "R", school: $s}) { id } }', { s: school })).data
    .createClassroom;
  assert.deepEqual(await multiplexed.next(), {
    stream: 'classrooms',
    payload: reply('create', { id: Number(room.id), name: 'R', school: Number(school) }, 200, 1),
  });
  const row = (await execute(client, 'mutation { createTest(input: {name: "T"}) { id } }')).data.createTest;
  assert.deepEqual(await multiplexed.next(), { stream: 'tests', payload: reply('create', { id: Number(row.id), name: 'T' }, 200, 2) });
  const token = await app.token('erin');
  const erin = graphqlClient(app, { connectionParams: { token } });
  await execute(erin, 'mutation { joinChat(chatId: 7) }');
  assert.deepEqual(await multiplexed.next(), { stream: 'chat', payload: reply('joined_chat', { username: 'erin', chat_id: 7 }, 200, 3) });
  await erin.dispose();
  multiplexed.close();
});

test('DCRF actions produce the GraphQL subscription events with the same data', async () => {
  const activity = await subscribeLive(client, 'subscription { thingActivity { action data { id name counter } } }');
  const things = await TestSocket.open(`${app.wsUrl}/ws/things_with_id/`);
  const created = await things.request({ action: 'create', data: { name: 'from-dcrf' }, request_id: 1 });
  assert.equal(created.response_status, 201);
  const id = String(created.data.id);
  assert.deepEqual((await activity.next()).data, { thingActivity: { action: 'CREATE', data: { ...created.data, id } } });
  const changed = await subscribeLive(client, 'subscription($id: ID!) { thingChanged(id: $id) { action data { id name counter } } }', {
    id,
  });
  const patched = await things.request({ action: 'patch', pk: created.data.id, data: { counter: 4 }, request_id: 2 });
  assert.deepEqual((await activity.next()).data, { thingActivity: { action: 'UPDATE', data: { ...patched.data, id } } });
  assert.deepEqual((await changed.next()).data, { thingChanged: { action: 'UPDATE', data: { ...patched.data, id } } });
  assert.equal((await things.request({ action: 'delete', pk: created.data.id, request_id: 3 })).response_status, 204);
  assert.deepEqual((await activity.next()).data, { thingActivity: { action: 'DELETE', data: { ...patched.data, id } } });
  assert.deepEqual((await changed.next()).data, { thingChanged: { action: 'DELETE', data: { ...patched.data, id } } });
  activity.dispose();
  changed.dispose();
  things.close();
});

test('DCRF chat joins and classroom moves reach GraphQL subscribers', async () => {
  const chats = await subscribeLive(client, 'subscription { joinedChat(chatId: "room1") { username chatId } }');
  const numeric = await subscribeLive(client, 'subscription { joinedChat(chatId: 7) { username chatId } }');
  const chat = await TestSocket.open(`${app.wsUrl}/ws/chat/?token=${await app.token('frank')}`);
  assert.equal((await chat.request({ action: 'join_chat', chat_id: 'room1', request_id: 1 })).response_status, 204);
  assert.deepEqual((await chats.next()).data, { joinedChat: { username: 'frank', chatId: 'room1' } });
  assert.equal((await chat.request({ action: 'join_chat', chat_id: 7, request_id: 2 })).response_status, 204);
  assert.deepEqual((await numeric.next()).data, { joinedChat: { username: 'frank', chatId: '7' } });
  assert.equal(chats.unread, 0);
  chat.close();

  const classrooms = await TestSocket.open(`${app.wsUrl}/ws/classrooms/`);
  const schools = await TestSocket.open(`${app.wsUrl}/ws/schools/`);
  const s1 = (await schools.request({ action: 'create', data: { name: 'A' }, request_id: 1 })).data.id;
  const s2 = (await schools.request({ action: 'create', data: { name: 'B' }, request_id: 2 })).data.id;
  const first = await subscribeLive(
    client,
    'subscription($s: ID) { classroomActivity(schoolId: $s) { action data { id name school { id } } } }',
    { s: String(s1) },
  );
  const second = await subscribeLive(
    client,
    'subscription($s: ID) { classroomActivity(schoolId: $s) { action data { id name school { id } } } }',
    { s: String(s2) },
  );
  const room = (await classrooms.request({ action: 'create', data: { name: 'Lab', school: s1 }, request_id: 3 })).data;
  assert.deepEqual((await first.next()).data, {
    classroomActivity: { action: 'CREATE', data: { id: String(room.id), name: 'Lab', school: { id: String(s1) } } },
  });
  await classrooms.request({ action: 'patch', pk: room.id, data: { school: s2 }, request_id: 4 });
  assert.deepEqual((await first.next()).data, {
    classroomActivity: { action: 'DELETE', data: { id: String(room.id), name: 'Lab', school: { id: String(s2) } } },
  });
  assert.deepEqual((await second.next()).data, {
    classroomActivity: { action: 'CREATE', data: { id: String(room.id), name: 'Lab', school: { id: String(s2) } } },
  });
  for (const sub of [chats, numeric, first, second]) sub.dispose();
  classrooms.close();
  schools.close();
});

test('the real dcrf-client and the real graphql-ws client on one server at once', async () => {
  type DcrfClient = {
    initialize(): void;
    close(): void;
    create(stream: string, props: object): Promise<any>;
    subscribe(stream: string, pk: number, callback: (data: any, action: string) => void): Promise<unknown>;
  };
  const DCRF = (await import('dcrf-client')).default as unknown as { createClient(url: string, options: object): DcrfClient };
  const dcrf = DCRF.createClient(`${app.wsUrl}/ws`, { pkField: 'id', websocket: { WebSocket: QuietWebSocket, maxRetries: 0 } });
  dcrf.initialize();
  const row = await dcrf.create('things_with_id', { name: 'both' });
  const dcrfEvents: Array<[any, string]> = [];
  let wake: () => void = () => undefined;
  await dcrf.subscribe('things_with_id', row.id, (data, action) => {
    dcrfEvents.push([data, action]);
    wake();
  });
  const graphqlEvents = await subscribeLive(
    client,
    'subscription($id: ID!) { thingChanged(id: $id) { action data { id name counter } } }',
    { id: String(row.id) },
  );
  const patched = (
    await execute(client, 'mutation($id: ID!) { patchThing(id: $id, input: {name: "both2"}) { id name counter } }', { id: String(row.id) })
  ).data.patchThing;
  assert.deepEqual((await graphqlEvents.next()).data, { thingChanged: { action: 'UPDATE', data: patched } });
  if (!dcrfEvents.length)
    await new Promise<void>((resolve, reject) => {
      wake = resolve;
      setTimeout(() => reject(new Error('no dcrf-client event within 3000 ms')), 3000).unref();
    });
  assert.deepEqual(dcrfEvents, [[{ id: row.id, name: 'both2', counter: row.counter }, 'update']]);
  graphqlEvents.dispose();
  dcrf.close();
});
