/**
 * A DCRF consumer serving a shared resource applies the resource's own permission (issue 12, item 5):
 * a consumer with `static resource = r` and the default AllowAny used to serve r's rows to anonymous
 * callers while GraphQL refused the same call. Now both permissions must allow, before every action and
 * every event (subscribe_instance and model observers alike).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  action,
  BasePermission,
  bindResource,
  buildGraphQLSchema,
  createGraphQLAdapter,
  CreateModelMixin,
  GenericAsyncAPIConsumer,
  IsAuthenticated,
  ListModelMixin,
  modelObserver,
  ObserverModelInstanceMixin,
  PatchModelMixin,
  Resource,
  RetrieveModelMixin,
  type ActionArgs,
  type ActionResult,
  type ConnectionScope,
  type ConsumerClass,
  type PermissionRequest,
} from '../../src/index.js';
import { TokenAuthenticator } from '../../src/demo/auth.js';
import { Test } from '../../src/demo/models.js';
import { TestSerializer } from '../../src/demo/serializers.js';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { post } from '../helpers/graphql.js';

const DENIED = 'You do not have permission to perform this action.';

/** Authenticated callers, and never a row named "secret" (an object-level rule, checked per event). */
class NoSecrets extends BasePermission {
  override hasPermission(scope: ConnectionScope, request: PermissionRequest): boolean {
    return Boolean(scope.user) && request.object?.name !== 'secret';
  }
}

/** Refuses writes: a consumer's own permission, on top of its resource's. */
class ReadOnly extends BasePermission {
  override hasPermission(_scope: ConnectionScope, request: PermissionRequest): boolean {
    return !['create', 'patch'].includes(request.action);
  }
}

const guarded = new Resource({ model: Test, serializer: TestSerializer, permissions: [IsAuthenticated, NoSecrets], name: 'guarded' });

const guardedActivity = modelObserver<GuardedConsumer>(Test, { name: 'guarded_activity', serializer: TestSerializer });

/** The default permission (AllowAny): the resource's must still apply. */
class GuardedConsumer extends ObserverModelInstanceMixin(
  PatchModelMixin(CreateModelMixin(RetrieveModelMixin(ListModelMixin(GenericAsyncAPIConsumer)))),
) {
  static override resource = guarded;

  @action({ args: ['request_id'] })
  async subscribe_activity(args: ActionArgs): Promise<ActionResult> {
    await guardedActivity.subscribe(this, args, args.request_id ?? null);
    return [null, 201];
  }
}

/** Its own permission and the resource's: both must allow. */
class ReadOnlyGuardedConsumer extends GuardedConsumer {
  static override permissionClasses = [ReadOnly];
}

describe('a consumer over a resource that requires authentication', () => {
  let app: TestApp;
  let alice: string;

  before(async () => {
    const authenticator = new TokenAuthenticator();
    const schema = buildGraphQLSchema({
      typeDefs: 'type Test { id: ID! name: String! } type Query { guarded: [Test!]! }',
      resolvers: [bindResource(guarded, { list: 'guarded' })],
    });
    app = await startTestApp({
      gateway: {
        streams: { guarded: GuardedConsumer as unknown as ConsumerClass, readonly: ReadOnlyGuardedConsumer as unknown as ConsumerClass },
        graphql: createGraphQLAdapter({ schema, authenticator }),
      },
    });
    alice = await app.token('alice');
  });
  after(async () => {
    await app.close();
  });

  test('anonymous DCRF callers are refused 403 as GraphQL refuses them; an authenticated one is served', async () => {
    const row = await Test.query().insert({ name: 'guarded row' });
    assert.equal((await post(app, '{ guarded { id } }')).body.errors[0].extensions.code, 'UNAUTHENTICATED');

    const guest = await TestSocket.open(`${app.wsUrl}/ws/guarded/`);
    for (const [name, frame] of Object.entries({
      list: {},
      retrieve: { pk: row.id },
      create: { data: { name: 'guest' } },
      patch: { pk: row.id, data: { name: 'guest' } },
      subscribe_instance: { pk: row.id, request_id: 'guest' },
      subscribe_activity: {},
    })) {
      assert.deepEqual(await guest.request({ action: name, ...frame, request_id: name }), reply(name, null, 403, name, [DENIED]), name);
    }
    guest.close();

    const user = await TestSocket.open(`${app.wsUrl}/ws/guarded/`, { headers: { Authorization: `Bearer ${alice}` } });
    assert.deepEqual(
      await user.request({ action: 'retrieve', pk: row.id, request_id: 1 }),
      reply('retrieve', { id: row.id, name: 'guarded row' }, 200, 1),
    );
    user.close();
  });

  test("both permissions must allow: the consumer's refuses writes, the resource's refuses guests", async () => {
    const guest = await TestSocket.open(`${app.wsUrl}/ws/readonly/`);
    assert.deepEqual(await guest.request({ action: 'list', request_id: 1 }), reply('list', null, 403, 1, [DENIED]));
    guest.close();
    const user = await TestSocket.open(`${app.wsUrl}/ws/readonly/`, { headers: { Authorization: `Bearer ${alice}` } });
    assert.equal((await user.request({ action: 'list', request_id: 2 })).response_status, 200);
    assert.deepEqual(
      await user.request({ action: 'create', data: { name: 'no' }, request_id: 3 }),
      reply('create', null, 403, 3, [DENIED]),
    );
    user.close();
  });

  test("the resource's object-level rule holds for model observer events too", async () => {
    const user = await TestSocket.open(`${app.wsUrl}/ws/guarded/`, { headers: { Authorization: `Bearer ${alice}` } });
    assert.deepEqual(
      await user.request({ action: 'subscribe_activity', request_id: 'act' }),
      reply('subscribe_activity', null, 201, 'act'),
    );
    const secret = await user.request({ action: 'create', data: { name: 'secret' }, request_id: 'c1' });
    assert.equal(secret.response_status, 201);
    const visible = await user.request({ action: 'create', data: { name: 'visible' }, request_id: 'c2' });
    assert.equal(visible.response_status, 201);
    // The secret row's event never came: the first event is the visible row's.
    assert.deepEqual(await user.next(), { errors: [], data: visible.data, action: 'create', response_status: 200, request_id: 'act' });
    user.close();
  });
});
