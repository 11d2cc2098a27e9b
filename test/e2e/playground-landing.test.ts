/**
 * What a person typing addresses into a browser meets: `/` opens the playground, `/graphql` opens its
 * GraphQL tab, a favicon is there, and none of these pages logs a console error. GraphQL clients on
 * `/graphql` are not redirected.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { browserSkipReason, ensurePlaygroundBuilt, launchBrowser } from './playground-browser.js';

let app: TestApp;
let browser: Browser | undefined;
const skip = browserSkipReason();

before(async () => {
  ensurePlaygroundBuilt();
  app = await startTestApp();
});
after(async () => {
  await browser?.close();
  await app.close();
});

test('/ and a browser GET /graphql redirect into the playground; JSON clients still get GraphQL', async () => {
  const root = await fetch(`${app.url}/`, { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/playground/');
  const navigate = await fetch(`${app.url}/graphql`, {
    redirect: 'manual',
    headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
  });
  assert.equal(navigate.status, 302);
  assert.equal(navigate.headers.get('location'), '/playground/#graphql');
  const query = await fetch(`${app.url}/graphql?query=${encodeURIComponent('{ things { id } }')}`, {
    headers: { accept: 'application/graphql-response+json' },
  });
  assert.equal(query.status, 200);
  assert.deepEqual(await query.json(), { data: { things: [] } });
  const favicon = await fetch(`${app.url}/favicon.ico`);
  assert.equal(favicon.status, 200);
  assert.equal(favicon.headers.get('content-type'), 'image/svg+xml');
  assert.match(await favicon.text(), /^<svg /);
});

test('opening /, /graphql and /playground in a browser logs no console error', { skip }, async () => {
  browser = await launchBrowser();
  for (const [address, landsOn] of [
    ['/', '/playground/'],
    ['/graphql', '/playground/#graphql'],
    ['/playground', '/playground/'],
  ] as const) {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(`${app.url}${address}`, { waitUntil: 'networkidle' });
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).hash, landsOn, address);
    if (address === '/graphql') await page.getByRole('tab', { name: /GraphQL/ }).waitFor();
    assert.deepEqual(problems, [], `${address}: console errors or failed requests`);
    await page.close();
  }
});
