/**
 * Permissions and user-code errors on a test-only gateway (not the demo): canConnect refusal at the
 * upgrade, 403 before 405, allOf/anyOf/not and `.and/.or/.not` short-circuiting (calls are counted),
 * a list means all; plus the DCRF rows the demo cannot show: unique validation on a writable User
 * stream, a user error with its own status, an unexpected error (500), throttling (429), a handler's
 * error statuses through viewAsConsumer, and pagination settings without a maximum.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import {
  action,
  allOf,
  anyOf,
  APIError,
  AsyncAPIConsumer,
  BasePermission,
  CreateModelMixin,
  Gateway,
  PaginatedModelListMixin,
  GenericAsyncAPIConsumer,
  IsAuthenticated,
  not,
  type ActionResult,
  type ConnectionScope,
  type ConsumerClass,
  type PermissionLike,
  type PermissionRequest,
  Runtime,
  viewAsConsumer,
} from '../../src/index.js';
import { openDemoDatabase } from '../../src/demo/app.js';
import { Test, User } from '../../src/demo/models.js';
import { TestSerializer, UserSerializer } from '../../src/demo/serializers.js';
import { TestSocket, reply } from '../helpers/app.js';
import { upgradeStatus } from '../helpers/dcrf.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const DENIED = 'You do not have permission to perform this action.';

/** How often each named permission was asked, by method. */
const calls = new Map<string, number>();
const count = (key: string) => calls.get(key) ?? 0;

/** A permission with a fixed answer that counts its calls. */
class Fixed extends BasePermission {
  constructor(
    readonly label: string,
    readonly allow: boolean,
    readonly connect = true,
  ) {
    super();
  }
  override canConnect(_scope: ConnectionScope): boolean {
    calls.set(`${this.label}.canConnect`, count(`${this.label}.canConnect`) + 1);
    return this.connect;
  }
  override async hasPermission(_scope: ConnectionScope, request: PermissionRequest): Promise<boolean> {
    calls.set(`${this.label}.hasPermission`, count(`${this.label}.hasPermission`) + 1);
    lastRequest.set(this.label, request);
    return this.allow;
  }
}
const lastRequest = new Map<string, PermissionRequest>();

/** A permission class (no-argument constructor), as DRF lists them. */
class RefuseConnect extends BasePermission {
  override canConnect(): boolean {
    calls.set('RefuseConnect.canConnect', count('RefuseConnect.canConnect') + 1);
    return false;
  }
}

class PingConsumer extends AsyncAPIConsumer {
  @action()
  ping(): ActionResult {
    return [{ pong: true }, 200];
  }

  @action()
  teapot(): ActionResult {
    throw new APIError(418, ["I'm a teapot"]);
  }

  @action()
  explode(): ActionResult {
    throw new Error('secret stack detail: SELECT * FROM users');
  }

  @action()
  async explode_later(): Promise<ActionResult> {
    await new Promise((resolve) => setImmediate(resolve));
    throw new TypeError('undefined is not a function');
  }

  @action()
  silent(): ActionResult {
    return undefined;
  }
}

function guarded(permissions: PermissionLike | PermissionLike[]): ConsumerClass {
  return class extends PingConsumer {
    static override permissionClasses = permissions;
  } as unknown as ConsumerClass;
}

/** A writable User stream, to show the unique-field message over a socket. */
class UserAdminConsumer extends CreateModelMixin(GenericAsyncAPIConsumer) {
  static override queryset = User;
  static override serializerClass = UserSerializer;
}

/** A paginated list whose settings name no maximum. */
class UnboundedListConsumer extends PaginatedModelListMixin(GenericAsyncAPIConsumer) {
  static override queryset = Test;
  static override serializerClass = TestSerializer;
  static override pagination = { defaultLimit: 2 };
}

/** An HTTP handler whose answers are not all successes. */
async function view(request: Request): Promise<Response> {
  const name = new URL(request.url).searchParams.get('name');
  if (request.method === 'DELETE') return new Response(null, { status: 204 });
  if (name === 'missing') return Response.json({ detail: 'Not found.' }, { status: 404 });
  if (name === 'list') return Response.json(['a', 'b'], { status: 400 });
  if (name === 'text') return new Response('plain words', { status: 200 });
  if (name === 'boom') throw new Error('handler failed with SQL: SELECT 1');
  return Response.json({ method: request.method, name, auth: request.headers.get('authorization') });
}

const streams: Record<string, ConsumerClass> = {
  open: guarded([]),
  refuse_connect: guarded([RefuseConnect]),
  refuse_connect_instance: guarded(new Fixed('refuseInstance', true, false)),
  deny: guarded(new Fixed('deny', false)),
  authenticated: guarded(IsAuthenticated),
  and_deny_first: guarded(new Fixed('a1', false).and(new Fixed('a2', true))),
  and_allow_first: guarded(new Fixed('b1', true).and(new Fixed('b2', false))),
  or_allow_first: guarded(new Fixed('c1', true).or(new Fixed('c2', false))),
  or_deny_first: guarded(new Fixed('d1', false).or(new Fixed('d2', true))),
  not_deny: guarded(new Fixed('e1', false).not()),
  not_allow: guarded(new Fixed('e2', true).not()),
  all_of: guarded(allOf(new Fixed('f1', true), new Fixed('f2', false), new Fixed('f3', true))),
  any_of: guarded(anyOf(new Fixed('g1', false), new Fixed('g2', true), new Fixed('g3', true))),
  not_fn: guarded(not(new Fixed('h1', false))),
  guests_only: guarded(not(IsAuthenticated)),
  list_all: guarded([new Fixed('i1', true), new Fixed('i2', false), new Fixed('i3', true)]),
  list_allow: guarded([new Fixed('j1', true), new Fixed('j2', true)]),
  connect_or: guarded(new Fixed('k1', true, false).or(new Fixed('k2', true, true))),
  connect_and: guarded(new Fixed('l1', true, false).and(new Fixed('l2', true, true))),
  users_admin: UserAdminConsumer as unknown as ConsumerClass,
  unbounded: UnboundedListConsumer as unknown as ConsumerClass,
  view: viewAsConsumer(view, { mappedActions: { retrieve: 'GET', delete: 'DELETE', remove: 'DELETE' } }),
};

let dir: string;
let knex: Knex;
let database: TestDatabase | undefined;
let runtime: Runtime;
let gateway: Gateway;
let url: string;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-permissions-'));
  database = process.env.TEST_DATABASE_URL ? await createTestDatabase(process.env.TEST_DATABASE_URL) : undefined;
  knex = await openDemoDatabase(database?.url ?? `sqlite:${path.join(dir, 'test.sqlite3')}`);
  runtime = await Runtime.create({ knex });
  gateway = new Gateway({
    runtime,
    streams,
    authenticator: { authenticate: async (token) => (token === 'good' ? { id: 1, username: 'good' } : null) },
  });
  url = `ws://127.0.0.1:${await gateway.listen(0)}`;
});
after(async () => {
  await gateway.close();
  await runtime.close();
  await knex.destroy();
  await database?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => calls.clear());

const ask = async (stream: string, frame: Record<string, unknown>) => {
  const socket = await TestSocket.open(`${url}/ws/${stream}/`);
  const answer = await socket.request(frame);
  socket.close();
  return answer;
};
const ping = (stream: string) => ask(stream, { action: 'ping', request_id: 1 });
const PONG = reply('ping', { pong: true }, 200, 1);
const REFUSED = reply('ping', null, 403, 1, [DENIED]);

describe('connect', () => {
  test('a canConnect refusal answers the upgrade with HTTP 403 and no socket opens', async () => {
    assert.equal(await upgradeStatus(`${url}/ws/refuse_connect/`), 403);
    assert.equal(count('RefuseConnect.canConnect'), 1);
    assert.equal(await upgradeStatus(`${url}/ws/refuse_connect_instance`), 403);
    assert.equal(await upgradeStatus(`${url}/ws/open/`), 101);
    assert.equal(await upgradeStatus(`${url}/ws/deny/`), 101, 'hasPermission refusals still connect');
  });

  test('IsAuthenticated lets anonymous sockets connect and refuses their actions', async () => {
    assert.equal(await upgradeStatus(`${url}/ws/authenticated/`), 101);
    assert.deepEqual(await ping('authenticated'), REFUSED);
    const socket = await TestSocket.open(`${url}/ws/authenticated/`, { headers: { Authorization: 'Bearer good' } });
    assert.deepEqual(await socket.request({ action: 'ping', request_id: 1 }), PONG);
    socket.close();
  });

  test('canConnect composes: or connects if either does, and needs both', async () => {
    assert.equal(await upgradeStatus(`${url}/ws/connect_or/`), 101);
    assert.equal(await upgradeStatus(`${url}/ws/connect_and/`), 403);
    assert.equal(count('l2.canConnect'), 0, 'and stops at the first refusal');
  });

  test('on /ws every stream is checked: a refused stream answers 403 per frame, the others work', async () => {
    const mux = await TestSocket.open(`${url}/ws`);
    assert.deepEqual(await mux.request({ stream: 'refuse_connect', payload: { action: 'ping', request_id: 1 } }), {
      stream: 'refuse_connect',
      payload: REFUSED,
    });
    assert.deepEqual(await mux.request({ stream: 'refuse_connect', payload: { action: 'nope', request_id: 2 } }), {
      stream: 'refuse_connect',
      payload: reply('nope', null, 403, 2, [DENIED]),
    });
    assert.deepEqual(await mux.request({ stream: 'open', payload: { action: 'ping', request_id: 1 } }), { stream: 'open', payload: PONG });
    mux.close();
  });
  test('on /ws, when every stream refuses the connection, the upgrade itself is refused 403', async () => {
    const closed = new Gateway({ runtime, streams: { a: streams.refuse_connect!, b: streams.refuse_connect_instance! } });
    const port = await closed.listen(0);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/ws`), 403);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/ws/a`), 403);
    await closed.close();
  });
});

describe('the order of checks', () => {
  test('403 before 405: an unknown action on a refusing consumer is 403; the permission sees its name', async () => {
    assert.deepEqual(await ask('deny', { action: 'nope', request_id: 4 }), reply('nope', null, 403, 4, [DENIED]));
    assert.equal(lastRequest.get('deny')?.action, 'nope');
    assert.deepEqual(await ask('open', { action: 'nope', request_id: 4 }), reply('nope', null, 405, 4, ['Method "nope" not allowed.']));
  });

  test('a missing action is 405 before any permission is asked', async () => {
    assert.deepEqual(await ask('deny', { request_id: 9 }), reply(null, null, 405, 9, ['Unable to find action in message body.']));
    assert.equal(count('deny.hasPermission'), 0);
  });

  test('the permission sees the action and every argument of the frame', async () => {
    await ask('deny', { action: 'ping', pk: 7, custom: 'x', request_id: 1 });
    assert.equal(count('deny.hasPermission'), 1);
    const request = lastRequest.get('deny')!;
    assert.equal(request.action, 'ping');
    assert.equal(request.args.pk, 7);
    assert.equal(request.args.custom, 'x');
  });
});

describe('composition short-circuits', () => {
  test('.and: a refusal first decides, the second is not asked', async () => {
    assert.deepEqual(await ping('and_deny_first'), REFUSED);
    assert.equal(count('a1.hasPermission'), 1);
    assert.equal(count('a2.hasPermission'), 0);
  });

  test('.and: an allow first asks the second, which decides', async () => {
    assert.deepEqual(await ping('and_allow_first'), REFUSED);
    assert.equal(count('b1.hasPermission'), 1);
    assert.equal(count('b2.hasPermission'), 1);
  });

  test('.or: an allow first decides, the second is not asked', async () => {
    assert.deepEqual(await ping('or_allow_first'), PONG);
    assert.equal(count('c1.hasPermission'), 1);
    assert.equal(count('c2.hasPermission'), 0);
  });

  test('.or: a refusal first asks the second, which decides', async () => {
    assert.deepEqual(await ping('or_deny_first'), PONG);
    assert.equal(count('d1.hasPermission'), 1);
    assert.equal(count('d2.hasPermission'), 1);
  });

  test('.not and not() invert, asking the inner permission once', async () => {
    assert.deepEqual(await ping('not_deny'), PONG);
    assert.deepEqual(await ping('not_allow'), REFUSED);
    assert.deepEqual(await ping('not_fn'), PONG);
    assert.equal(count('e1.hasPermission'), 1);
    assert.equal(count('e2.hasPermission'), 1);
    assert.equal(count('h1.hasPermission'), 1);
  });

  test('a negation never refuses the connection: not(IsAuthenticated) lets guests act and refuses users', async () => {
    assert.equal(await upgradeStatus(`${url}/ws/guests_only/`), 101);
    assert.deepEqual(await ping('guests_only'), PONG);
    const user = await TestSocket.open(`${url}/ws/guests_only/`, { headers: { Authorization: 'Bearer good' } });
    assert.deepEqual(await user.request({ action: 'ping', request_id: 1 }), REFUSED);
    user.close();
  });

  test('allOf stops at the first refusal', async () => {
    assert.deepEqual(await ping('all_of'), REFUSED);
    assert.deepEqual([count('f1.hasPermission'), count('f2.hasPermission'), count('f3.hasPermission')], [1, 1, 0]);
  });

  test('anyOf stops at the first allow', async () => {
    assert.deepEqual(await ping('any_of'), PONG);
    assert.deepEqual([count('g1.hasPermission'), count('g2.hasPermission'), count('g3.hasPermission')], [1, 1, 0]);
  });

  test('a list means all of them, in order, stopping at the first refusal', async () => {
    assert.deepEqual(await ping('list_all'), REFUSED);
    assert.deepEqual([count('i1.hasPermission'), count('i2.hasPermission'), count('i3.hasPermission')], [1, 1, 0]);
    assert.deepEqual(await ping('list_allow'), PONG);
    assert.deepEqual([count('j1.hasPermission'), count('j2.hasPermission')], [1, 1]);
  });

  test('each action asks again', async () => {
    const socket = await TestSocket.open(`${url}/ws/list_allow/`);
    for (let i = 0; i < 3; i++) assert.deepEqual(await socket.request({ action: 'ping', request_id: 1 }), PONG);
    socket.close();
    assert.equal(count('j1.hasPermission'), 3);
  });
});

describe('errors raised by user code', () => {
  test('an APIError carries its own status and detail', async () => {
    assert.deepEqual(await ask('open', { action: 'teapot', request_id: 1 }), reply('teapot', null, 418, 1, ["I'm a teapot"]));
  });

  test('an unexpected error is 500 "Internal server error", with no stack or SQL, and the socket stays open', async () => {
    const socket = await TestSocket.open(`${url}/ws/open/`);
    assert.deepEqual(await socket.request({ action: 'explode', request_id: 1 }), reply('explode', null, 500, 1, ['Internal server error']));
    assert.deepEqual(
      await socket.request({ action: 'explode_later', request_id: 2 }),
      reply('explode_later', null, 500, 2, ['Internal server error']),
    );
    assert.deepEqual(await socket.request({ action: 'ping', request_id: 1 }), PONG);
    socket.close();
  });

  test('an action that returns nothing sends no reply; the next frame is still answered', async () => {
    const socket = await TestSocket.open(`${url}/ws/open/`);
    socket.send({ action: 'silent', request_id: 1 });
    assert.deepEqual(await socket.request({ action: 'ping', request_id: 1 }), PONG);
    socket.close();
  });
});

describe('validation on a model stream of a test-only app', () => {
  test('a taken unique value: "user with this username already exists."', async () => {
    const first = await ask('users_admin', { action: 'create', data: { username: 'dave' }, request_id: 1 });
    assert.deepEqual(first, reply('create', { id: first.data.id, username: 'dave', email: '' }, 201, 1));
    assert.deepEqual(
      await ask('users_admin', { action: 'create', data: { username: 'dave' }, request_id: 2 }),
      reply('create', null, 400, 2, [{ username: ['user with this username already exists.'] }]),
    );
    assert.deepEqual(
      await ask('users_admin', { action: 'create', data: { username: 'x'.repeat(151), email: 'nope' }, request_id: 3 }),
      reply('create', null, 400, 3, [
        { username: ['Ensure this field has no more than 150 characters.'], email: ['Enter a valid email address.'] },
      ]),
    );
  });
});

describe('viewAsConsumer', () => {
  test("the handler's statuses and bodies become the reply; a throw is a 500; unmapped actions are 405", async () => {
    const socket = await TestSocket.open(`${url}/ws/view/`, { headers: { Authorization: 'Bearer good' } });
    assert.deepEqual(
      await socket.request({ action: 'retrieve', query: { name: 'x' }, request_id: 1 }),
      reply('retrieve', { method: 'GET', name: 'x', auth: 'Bearer good' }, 200, 1),
    );
    assert.deepEqual(
      await socket.request({ action: 'retrieve', query: { name: 'missing' }, request_id: 2 }),
      reply('retrieve', null, 404, 2, [{ detail: 'Not found.' }]),
    );
    assert.deepEqual(
      await socket.request({ action: 'retrieve', query: { name: 'list' }, request_id: 3 }),
      reply('retrieve', null, 400, 3, ['a', 'b']),
    );
    assert.deepEqual(
      await socket.request({ action: 'retrieve', query: { name: 'text' }, request_id: 4 }),
      reply('retrieve', 'plain words', 200, 4),
    );
    assert.deepEqual(
      await socket.request({ action: 'retrieve', query: { name: 'boom' }, request_id: 5 }),
      reply('retrieve', null, 500, 5, ['Internal server error']),
    );
    assert.deepEqual(await socket.request({ action: 'delete', request_id: 6 }), reply('delete', null, 204, 6));
    assert.deepEqual(await socket.request({ action: 'remove', request_id: 7 }), reply('remove', null, 204, 7));
    assert.deepEqual(
      await socket.request({ action: 'create', data: {}, request_id: 8 }),
      reply('create', null, 405, 8, ['Method "create" not allowed.']),
    );
    socket.close();
  });
});

describe('pagination without a maximum', () => {
  test('a huge limit is read, not passed to SQL as 1e+300', async () => {
    await knex('tests').insert([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    const page = await ask('unbounded', { action: 'list', limit: 1e300, request_id: 1 });
    assert.equal(page.response_status, 200);
    assert.deepEqual(
      page.data.results.map((row: { name: string }) => row.name),
      ['a', 'b', 'c'],
    );
    assert.equal(page.data.limit, Number.MAX_SAFE_INTEGER);
    const huge = await ask('unbounded', { action: 'list', limit: '9'.repeat(30), offset: '9'.repeat(30), request_id: 2 });
    assert.deepEqual(huge.data, { count: 3, results: [], limit: Number.MAX_SAFE_INTEGER, offset: 1e30 });
    // Past what a double holds, the text is unreadable: the defaults apply.
    const unreadable = await ask('unbounded', { action: 'list', limit: '9'.repeat(400), offset: '9'.repeat(400), request_id: 2 });
    assert.deepEqual(unreadable.data, {
      count: 3,
      results: [
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
      ],
      limit: 2,
      offset: 0,
    });
    assert.deepEqual((await ask('unbounded', { action: 'list', request_id: 3 })).data.limit, 2);
  });
});

describe('throttling', () => {
  test('past the burst, frames are answered 429 "Request was throttled." and the socket stays open', async () => {
    const throttled = new Gateway({ runtime, streams: { open: streams.open! }, limits: { rateBurst: 3, ratePerSecond: 0.001 } });
    const port = await throttled.listen(0);
    const socket = await TestSocket.open(`ws://127.0.0.1:${port}/ws/open/`);
    for (let i = 1; i <= 6; i++) socket.send({ action: 'ping', request_id: i });
    const frames = [];
    for (let i = 1; i <= 6; i++) frames.push(await socket.next());
    assert.deepEqual(
      frames.slice(0, 3),
      [1, 2, 3].map((id) => reply('ping', { pong: true }, 200, id)),
    );
    assert.deepEqual(
      frames.slice(3),
      [4, 5, 6].map((id) => reply('ping', null, 429, id, ['Request was throttled.'])),
    );
    assert.equal(socket.closeCode, undefined);
    socket.close();
    await throttled.close();
  });
});
