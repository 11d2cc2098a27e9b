/**
 * Upgrade routing and authentication of DCRF sockets (docs/demo.md "Endpoints" and "Authentication"):
 * which paths open, which are refused 404, where a token is read from, and 401 for an unknown token.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { upgradeStatus } from '../helpers/dcrf.js';

let app: TestApp;
let alice: string;
let bob: string;

before(async () => {
  app = await startTestApp();
  alice = await app.token('alice');
  bob = await app.token('bob');
});
after(async () => {
  await app.close();
});

test('/ws/<stream> with or without the slash, /ws and /ws/ open', async () => {
  for (const path of ['/ws/things', '/ws/things/', '/ws', '/ws/', '/ws/users/', '/ws/hello', '/ws/things?x=1', '/ws/thi%6Egs/']) {
    assert.equal(await upgradeStatus(`${app.wsUrl}${path}`), 101, path);
  }
});

test('the single-stream paths answer bare frames, the multiplexed ones wrapped frames', async () => {
  const bare = await TestSocket.open(`${app.wsUrl}/ws/things`);
  assert.deepEqual(await bare.request({ action: 'list', request_id: 1 }), reply('list', [], 200, 1));
  bare.close();
  const mux = await TestSocket.open(`${app.wsUrl}/ws/`);
  assert.deepEqual(await mux.request({ stream: 'things', payload: { action: 'list', request_id: 1 } }), {
    stream: 'things',
    payload: reply('list', [], 200, 1),
  });
  mux.close();
});

test('unknown paths are refused 404 at the upgrade', async () => {
  for (const path of [
    '/ws/nope/',
    '/ws/nope',
    '/nope',
    '/',
    '/ws/things/extra',
    '/ws//',
    '/wsx',
    '/ws/%2e%2e',
    '/ws/__proto__',
    '/ws/constructor/',
    '/ws/%zz',
    '/ws/%E0%A4%A/',
    '/ws/things%2F',
  ]) {
    assert.equal(await upgradeStatus(`${app.wsUrl}${path}`), 404, path);
  }
});

const me = async (url: string, headers: Record<string, string> = {}) => {
  const socket = await TestSocket.open(url, { headers });
  const frame = await socket.request({ action: 'me', request_id: 1 });
  socket.close();
  return frame.data?.username ?? frame.response_status;
};

test('a users token from the Authorization header, the token query parameter, or the token cookie', async () => {
  assert.equal(await me(`${app.wsUrl}/ws/users/`, { Authorization: `Bearer ${alice}` }), 'alice');
  assert.equal(await me(`${app.wsUrl}/ws/users/?token=${bob}`), 'bob');
  assert.equal(await me(`${app.wsUrl}/ws/users/`, { Cookie: `token=${alice}` }), 'alice');
  assert.equal(await me(`${app.wsUrl}/ws/users/`, { Cookie: `theme=dark; token=${bob}` }), 'bob');
  assert.equal(await me(`${app.wsUrl}/ws/users/`), 403, 'no token: anonymous, actions refused');
});

test('first match wins: the header beats the query parameter, the query parameter beats the cookie', async () => {
  assert.equal(await me(`${app.wsUrl}/ws/users/?token=${bob}`, { Authorization: `Bearer ${alice}` }), 'alice');
  assert.equal(await me(`${app.wsUrl}/ws/users/?token=${bob}`, { Cookie: `token=${alice}` }), 'bob');
});

test('an unknown token refuses the DCRF upgrade with 401, whichever source it came from', async () => {
  assert.equal(await upgradeStatus(`${app.wsUrl}/ws/users/`, { headers: { Authorization: 'Bearer not-a-token' } }), 401);
  assert.equal(await upgradeStatus(`${app.wsUrl}/ws/users/?token=not-a-token`), 401);
  assert.equal(await upgradeStatus(`${app.wsUrl}/ws/users/`, { headers: { Cookie: 'token=not-a-token' } }), 401);
  assert.equal(await upgradeStatus(`${app.wsUrl}/ws?token=not-a-token`), 401);
  assert.equal(await upgradeStatus(`${app.wsUrl}/ws/things/?token=${'x'.repeat(5000)}`), 401, 'on any stream');
  // An unknown header token is not rescued by a valid one further down the list.
  assert.equal(await upgradeStatus(`${app.wsUrl}/ws/users/?token=${alice}`, { headers: { Authorization: 'Bearer not-a-token' } }), 401);
});

test('the user is read at the upgrade: a token made afterwards does not change an open socket', async () => {
  const socket = await TestSocket.open(`${app.wsUrl}/ws/users/`);
  await app.token('carol');
  assert.equal((await socket.request({ action: 'me', request_id: 1 })).response_status, 403);
  socket.close();
});

test('a client offering the dcrf subprotocol gets it; one offering none gets DCRF without one', async () => {
  const named = await TestSocket.open(`${app.wsUrl}/ws/things/`, { protocols: ['dcrf'] });
  assert.equal(named.ws.protocol, 'dcrf');
  assert.equal((await named.request({ action: 'list', request_id: 1 })).response_status, 200);
  named.close();
  const plain = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  assert.equal(plain.ws.protocol, '');
  plain.close();
});

/** `things` and `things_with_id`: the same consumer class. */
const THING_ACTIONS = [
  'list',
  'create',
  'update',
  'patch',
  'delete',
  'retrieve',
  'subscribe_instance',
  'unsubscribe_instance',
  'subscribe_many',
  'unsubscribe_many',
];

/** The action table of docs/demo.md ("DCRF streams"). */
const DEMO_ACTIONS: Record<string, string[]> = {
  things: THING_ACTIONS,
  things_with_id: THING_ACTIONS,
  tests: [
    'list',
    'retrieve',
    'create',
    'update',
    'patch',
    'delete',
    'subscribe_instance',
    'unsubscribe_instance',
    'subscribe_activity',
    'unsubscribe_activity',
  ],
  users: ['list', 'retrieve', 'subscribe_instance', 'unsubscribe_instance', 'send_email', 'publish', 'me'],
  schools: ['list', 'list_cancel', 'retrieve', 'create'],
  classrooms: [
    'list',
    'retrieve',
    'create',
    'patch',
    'delete',
    'subscribe_to_classrooms_in_school',
    'subscribe_to_classroom',
    'unsubscribe_from_classrooms_in_school',
    'unsubscribe_from_classroom',
  ],
  chat: ['join_chat', 'subscribe_joined', 'unsubscribe_joined'],
  hello: ['retrieve', 'list', 'create'],
  notes: [
    'list',
    'retrieve',
    'create',
    'patch',
    'delete',
    'subscribe_instance',
    'unsubscribe_instance',
    'subscribe_many',
    'unsubscribe_many',
  ],
  products: [
    'list',
    'retrieve',
    'create',
    'update',
    'patch',
    'delete',
    'subscribe_instance',
    'unsubscribe_instance',
    'subscribe_many',
    'unsubscribe_many',
  ],
};

test('GET /api/streams describes every stream with the actions of docs/demo.md', async () => {
  const response = await fetch(`${app.url}/api/streams`);
  assert.equal(response.status, 200);
  const { streams } = (await response.json()) as { streams: Array<{ name: string; actions: Array<{ name: string; detached: boolean }> }> };
  assert.deepEqual(streams.map((stream) => stream.name).sort(), Object.keys(DEMO_ACTIONS).sort());
  for (const stream of streams) {
    assert.deepEqual(stream.actions.map((action) => action.name).sort(), [...DEMO_ACTIONS[stream.name]!].sort(), stream.name);
  }
  assert.ok(streams.find((stream) => stream.name === 'schools')!.actions.find((action) => action.name === 'list')!.detached);
});

test('over the socket, every stream answers exactly those actions (others are 405)', async () => {
  const mux = await TestSocket.open(`${app.wsUrl}/ws`, { headers: { Authorization: `Bearer ${alice}` } });
  for (const [stream, actions] of Object.entries(DEMO_ACTIONS)) {
    for (const action of [...actions, 'nope', 'destroy', 'update_many']) {
      const answer = await mux.request({ stream, payload: { action, request_id: `${stream}.${action}` } });
      assert.equal(answer.stream, stream);
      assert.equal(answer.payload.request_id, `${stream}.${action}`);
      if (actions.includes(action)) assert.notEqual(answer.payload.response_status, 405, `${stream}.${action}`);
      else assert.deepEqual(answer.payload.errors, [`Method "${action}" not allowed.`], `${stream}.${action}`);
    }
  }
  mux.close();
});
