/**
 * GraphQL over HTTP from a page on another origin: allowed origins (ALLOWED_ORIGINS) get CORS headers
 * and their preflight answered; any other origin gets neither, so the browser withholds the answer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../helpers/app.js';

const ALLOWED = 'https://app.example.com';
let app: TestApp;

before(async () => {
  app = await startTestApp({ env: { ALLOWED_ORIGINS: ALLOWED } });
});
after(() => app.close());

test('a preflight from an allowed origin is answered 204 with the methods and headers a GraphQL client sends', async () => {
  const preflight = await fetch(`${app.url}/graphql`, {
    method: 'OPTIONS',
    headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), ALLOWED);
  assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/);
  assert.match(preflight.headers.get('vary') ?? '', /Origin/);
});

test('a query from an allowed origin carries its CORS header; another origin gets none, and its preflight 403', async () => {
  const body = JSON.stringify({ query: '{ things { id } }' });
  const allowed = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    body,
    headers: { origin: ALLOWED, 'content-type': 'application/json' },
  });
  assert.equal(allowed.status, 200);
  assert.equal(allowed.headers.get('access-control-allow-origin'), ALLOWED);
  const other = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    body,
    headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
  });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  const preflight = await fetch(`${app.url}/graphql`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(preflight.status, 403);
  assert.equal(preflight.headers.get('access-control-allow-origin'), null);
});
