/**
 * A resource whose permission refuses: an authenticated caller gets FORBIDDEN/403, an anonymous one
 * UNAUTHENTICATED/401 (as DRF answers NotAuthenticated before PermissionDenied), over HTTP and WebSocket.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { execute, graphqlClient, post } from '../helpers/graphql.js';
import { BasePermission, bindResource, buildGraphQLSchema, createGraphQLAdapter, Resource } from '../../src/index.js';
import { TokenAuthenticator } from '../../src/demo/auth.js';
import { Test } from '../../src/demo/models.js';
import { TestSerializer } from '../../src/demo/serializers.js';

class Nobody extends BasePermission {
  override hasPermission(): boolean {
    return false;
  }
}

const locked = new Resource({ model: Test, serializer: TestSerializer, permissions: [Nobody] });
const schema = buildGraphQLSchema({
  typeDefs: `
    type Secret { id: ID! name: String! }
    type Query { secrets: [Secret!]! secret(id: ID!): Secret }
  `,
  resolvers: [bindResource(locked, { list: 'secrets', get: 'secret' })],
});

let app: TestApp;
before(async () => {
  app = await startTestApp({ gateway: { graphql: createGraphQLAdapter({ schema, authenticator: new TokenAuthenticator() }) } });
});
after(async () => {
  await app.close();
});

test('an authenticated caller refused by the permission gets FORBIDDEN with status 403, and no data', async () => {
  const token = await app.token('alice');
  const { status, body } = await post(app, '{ secrets { id name } }', undefined, { authorization: `Bearer ${token}` });
  assert.equal(status, 200);
  assert.equal(body.data, null);
  assert.equal(body.errors[0].extensions.code, 'FORBIDDEN');
  assert.equal(body.errors[0].extensions.status, 403);
  assert.deepEqual(body.errors[0].path, ['secrets']);

  const client = graphqlClient(app, { token });
  try {
    const result = await execute(client, '{ secrets { id } }');
    assert.equal(result.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  } finally {
    await client.dispose();
  }
});

test('an anonymous caller refused by the permission gets UNAUTHENTICATED with status 401', async () => {
  const { body } = await post(app, '{ secrets { id } }');
  assert.equal(body.errors[0].extensions.code, 'UNAUTHENTICATED');
  assert.equal(body.errors[0].extensions.status, 401);
});
