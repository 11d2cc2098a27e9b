/**
 * The playground's GraphQL tab (GraphiQL) in a real browser against the real demo app: a query over
 * HTTP, and a subscription over graphql-ws that receives the event of a write made over DCRF.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { TestSocket, type TestApp } from '../helpers/app.js';
import { browserSkipReason, openPage, screenshot, startBrowserApp } from './playground-browser.js';

const skip = browserSkipReason();
let app: TestApp;
let browser: Browser;

before(async () => {
  if (skip) return;
  ({ app, browser } = await startBrowserApp());
});
after(async () => {
  await browser?.close();
  await app?.close();
});

/** Why GraphQL cannot be exercised on this app, or undefined when /graphql answers. */
async function graphqlMissing(): Promise<string | undefined> {
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  if (response.status !== 404) return undefined;
  return 'the GraphQL server is not wired into the demo app: POST /graphql answers 404 (startDemo in src/demo/app.ts passes no `graphql` adapter)';
}

/**
 * Replaces the operation editor's text as typed keys. One line: the editor closes brackets and
 * indents on Enter as a user types, and typing over a closing bracket it inserted is what users do.
 * GraphiQL takes the editor's text in after a short debounce, and a Run click before that is lost;
 * the tab's title turning to the typed operation's name is the sign it has (what a user sees too).
 */
async function setOperation(page: Page, text: string, operationName: string): Promise<void> {
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
  await page.locator('.graphiql-tab', { hasText: operationName }).waitFor();
}

/** The response pane's text (Monaco renders non-breaking spaces). */
async function responseText(page: Page): Promise<string> {
  return (await page.locator('.graphiql-response').innerText()).replace(/\u00a0/g, ' ');
}

async function waitForResponse(page: Page, needle: string, timeout = 10_000): Promise<void> {
  await page.waitForFunction(
    (text) => (document.querySelector('.graphiql-response')?.textContent ?? '').replace(/\u00a0/g, ' ').includes(text),
    needle,
    { timeout },
  );
}

test('the GraphQL tab runs a query and receives a subscription event after a DCRF write', { skip }, async (t) => {
  const missing = await graphqlMissing();
  if (missing) {
    t.skip(missing);
    return;
  }
  const dcrf = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const created = await dcrf.request({ action: 'create', data: { name: 'seen by GraphQL' }, request_id: 1 });
  assert.equal(created.response_status, 201);
  const pk = created.data.pk;

  const { page, errors } = await openPage(browser, `${app.url}/playground/`);
  await page.getByLabel('Token').fill(await app.token('alice'));
  await page.getByRole('tab', { name: 'GraphQL' }).click();
  await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor();

  // A query over HTTP, as the user whose token is in the top bar.
  // Named unlike the default document's operations, so the tab title shows when the edit is in.
  await setOperation(page, 'query Listed { me { username } things { id name counter } }', 'Listed');
  await page.locator('.graphiql-execute-button').click();
  await waitForResponse(page, 'seen by GraphQL');
  const queried = JSON.parse(await responseText(page));
  assert.deepEqual(queried, { data: { me: { username: 'alice' }, things: [{ id: String(pk), name: 'seen by GraphQL', counter: 0 }] } });

  // A subscription over graphql-ws; the playground cannot tell when the server has registered it,
  // so DCRF writes repeat (each with a new name) until one's event shows.
  await setOperation(page, `subscription Changed { thingChanged(id: "${pk}") { action data { id name counter } } }`, 'Changed');
  await page.getByRole('button', { name: /^Prettify/ }).click();
  await page.waitForFunction(() => document.querySelectorAll('.graphiql-query-editor .view-line').length > 5);
  await page.locator('.graphiql-execute-button').click();
  let seen: string | undefined;
  for (let attempt = 1; attempt <= 20 && !seen; attempt++) {
    const name = `written over DCRF ${attempt}`;
    const patched = await dcrf.request({ action: 'patch', pk, data: { name, counter: attempt }, request_id: `p${attempt}` });
    assert.equal(patched.response_status, 200);
    try {
      await waitForResponse(page, name, 500);
      seen = name;
    } catch {
      // not subscribed yet: write again
    }
  }
  assert.ok(seen, 'no subscription event reached the GraphQL tab');
  const event = JSON.parse(await responseText(page));
  assert.equal(event.data.thingChanged.action, 'UPDATE');
  assert.equal(event.data.thingChanged.data.id, String(pk));
  assert.match(event.data.thingChanged.data.name, /^written over DCRF \d+$/);

  await screenshot(page, 'playground-graphql');
  dcrf.close();
  await page.close();
  assert.deepEqual(errors, []);
});
