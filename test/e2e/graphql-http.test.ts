/**
 * GraphQL over HTTP on /graphql: POST and GET, the GraphQL-over-HTTP audits of graphql-http, error
 * codes, masking of internal failures.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAudits } from 'graphql-http';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { post } from '../helpers/graphql.js';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

test('every MUST audit of the GraphQL-over-HTTP spec passes', async () => {
  const audits = serverAudits({ url: `${app.url}/graphql`, fetchFn: fetch });
  const failed: string[] = [];
  const shouldFailed: string[] = [];
  for (const audit of audits) {
    const result = await audit.fn();
    if (result.status === 'ok') continue;
    if (audit.name.startsWith('MUST')) failed.push(`${audit.name}: ${result.reason}`);
    else shouldFailed.push(`${audit.name}: ${result.reason}`);
  }
  assert.deepEqual(failed, []);
  // The README lists the SHOULD audits that fail, with why; this keeps that list honest.
  assert.deepEqual(shouldFailed, []);
});

test('POST: query and mutation', async () => {
  const created = await post(app, 'mutation($n: String!) { createThing(input: {name: $n}) { id name counter } }', { n: 'http' });
  assert.equal(created.status, 200);
  const thing = created.body.data.createThing;
  assert.deepEqual(thing, { id: thing.id, name: 'http', counter: 0 });
  const read = await post(app, 'query($id: ID!) { thing(id: $id) { id name counter } }', { id: thing.id });
  assert.deepEqual(read.body, { data: { thing } });
});

test('GET: queries yes, mutations 405', async () => {
  const query = encodeURIComponent('{ things { id } me { id } }');
  const response = await fetch(`${app.url}/graphql?query=${query}`, { headers: { accept: 'application/json' } });
  assert.equal(response.status, 200);
  const body = (await response.json()) as any;
  assert.ok(Array.isArray(body.data.things));
  assert.equal(body.data.me, null);
  const mutation = encodeURIComponent('mutation { createThing(input: {name: "get"}) { id } }');
  const refused = await fetch(`${app.url}/graphql?query=${mutation}`, { headers: { accept: 'application/json' } });
  assert.equal(refused.status, 405);
  assert.equal(refused.headers.get('allow'), 'POST');
});

test('authentication: Bearer header; an unknown token is 401', async () => {
  const token = await app.token('carol');
  const me = await post(app, '{ me { username } }', undefined, { authorization: `Bearer ${token}` });
  assert.deepEqual(me.body, { data: { me: { username: 'carol' } } });
  const anonymous = await post(app, '{ user(id: "1") { id } }');
  assert.deepEqual(anonymous.body.errors[0].extensions, { code: 'UNAUTHENTICATED', status: 401 });
  const bad = await post(app, '{ me { username } }', undefined, { authorization: 'Bearer nope' });
  assert.equal(bad.status, 401);
  assert.equal(bad.body.errors[0].extensions.code, 'UNAUTHENTICATED');
});

test('errors: validation with fields, not found, syntax; graphql-response+json gives 400 for a bad document', async () => {
  const tooLong = await post(app, `mutation { createTest(input: {name: "${'y'.repeat(101)}"}) { id } }`);
  assert.deepEqual(tooLong.body.errors[0].extensions, {
    code: 'BAD_USER_INPUT',
    status: 400,
    fields: { name: ['Ensure this field has no more than 100 characters.'] },
  });
  const missing = await post(app, 'mutation { patchTest(id: "424242", input: {name: "z"}) { id } }');
  assert.deepEqual(missing.body.errors[0].extensions, { code: 'NOT_FOUND', status: 404 });
  const lookups = await post(
    app,
    '{ test(id: "424242") { id } thing(id: "nope") { id } classroom(id: "1") { id } school(id: "9") { id } }',
  );
  assert.deepEqual(lookups.body, { data: { test: null, thing: null, classroom: null, school: null } });
  for (const body of ['{bad json', '{"query": 1}', '{}']) {
    const unreadable = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body,
    });
    assert.equal(unreadable.status, 400);
    assert.deepEqual(((await unreadable.json()) as any).errors[0].extensions, { code: 'BAD_REQUEST', status: 400 });
  }
  const syntax = await post(app, '{ things { id ');
  assert.equal(syntax.body.errors[0].extensions.code, 'GRAPHQL_PARSE_FAILED');
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: '{ nope }' }),
  });
  assert.equal(response.status, 400);
  assert.equal(((await response.json()) as any).errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
});

test('an internal failure is INTERNAL_SERVER_ERROR/500 with no SQL and no stack', async () => {
  // A real database failure: the table is gone under the running server.
  await app.knex.schema.dropTable('classrooms');
  const school = await post(app, 'mutation { createSchool(input: {name: "S"}) { id } }');
  const failed = await post(app, 'query($id: ID!) { school(id: $id) { name classrooms { id } } }', {
    id: school.body.data.createSchool.id,
  });
  assert.equal(failed.status, 200);
  assert.deepEqual(failed.body.data, { school: null });
  const [error] = failed.body.errors;
  assert.deepEqual(
    { message: error.message, path: error.path, extensions: error.extensions },
    {
      message: 'Internal server error',
      path: ['school', 'classrooms'],
      extensions: { code: 'INTERNAL_SERVER_ERROR', status: 500 },
    },
  );
  assert.doesNotMatch(JSON.stringify(failed.body), /classrooms"? (?:where|from)|SQLITE|select|stack|at /i);
});

test('a body over the bound (1 MiB) is 413 with a GraphQL error, chunked or not, and the server goes on', async () => {
  const big = JSON.stringify({ query: `{ __typename } ${' '.repeat(1024 * 1024)}` });
  const declared = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
  assert.equal(declared.status, 413);
  assert.deepEqual(await declared.json(), {
    errors: [{ message: 'Request body too large.', extensions: { code: 'BAD_REQUEST', status: 413 } }],
  });
  // No Content-Length: the bound is met as the chunks arrive.
  const chunked = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: new Blob([big]).stream(),
    duplex: 'half',
  } as RequestInit);
  assert.equal(chunked.status, 413);
  assert.equal((await post(app, '{ __typename }')).status, 200);
});
