/**
 * The playground's DCRF console in a real browser against the real demo app: list, create,
 * subscribe, see the update events of writes made over DCRF and from a second page, unsubscribe.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { TestSocket, type TestApp } from '../helpers/app.js';
import { browserSkipReason, openPage, screenshot, sendFromConsole, startBrowserApp } from './playground-browser.js';

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

/** The frame of the `nth` (1-based) log row matching `selector`, once there is one. */
async function frameOf(page: Page, selector: string, nth = 1): Promise<any> {
  const row = page.locator(selector).nth(nth - 1);
  await row.waitFor();
  return JSON.parse(await row.locator('summary code').first().innerText());
}

async function connect(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator('.status-connected').waitFor();
}

test('the DCRF console lists, creates, subscribes and shows update events', { skip }, async () => {
  const dcrf = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const seeded = await dcrf.request({ action: 'create', data: { name: 'seeded over DCRF' }, request_id: 'seed' });
  assert.equal(seeded.response_status, 201);

  const { page, errors } = await openPage(browser, `${app.url}/playground`);
  assert.equal(new URL(page.url()).pathname, '/playground/');
  await page.locator('select[aria-label="Stream"] option[value="things"]').waitFor({ state: 'attached' });
  await connect(page);

  // list: the reply is matched to its request and shows the seeded row.
  await sendFromConsole(page, 'things', 'list', {});
  const listed = await frameOf(page, '.log-entry[data-kind="reply"][data-action="list"]');
  assert.deepEqual(listed.data, [seeded.data]);
  assert.equal(listed.response_status, 200);
  await page.locator('.log-entry[data-kind="request"][data-action="list"] .replies', { hasText: 'replied 200' }).waitFor();

  // create
  await sendFromConsole(page, undefined, 'create', { data: { name: 'made in the browser' } });
  const created = await frameOf(page, '.log-entry[data-kind="reply"][data-action="create"]');
  assert.equal(created.response_status, 201);
  assert.equal(created.data.name, 'made in the browser');
  const pk = created.data.pk;

  // subscribe_instance: the payload is prefilled with the pk just created.
  await page.getByLabel('Action').selectOption('subscribe_instance');
  await page.waitForFunction(() => (document.querySelector('textarea') as HTMLTextAreaElement).value.includes('subscribe_instance'));
  assert.deepEqual(JSON.parse(await page.getByLabel('Payload').inputValue()), { action: 'subscribe_instance', pk });
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  const subscription = page.locator('.subscription[data-stream="things"][data-action="subscribe_instance"]');
  await subscription.waitFor();

  // A write over DCRF from another client: its update event lands under the subscription.
  const patched = await dcrf.request({ action: 'patch', pk, data: { name: 'patched over DCRF' }, request_id: 'p1' });
  assert.equal(patched.response_status, 200);
  await subscription.locator('.event[data-action="update"]', { hasText: 'patched over DCRF' }).waitFor();

  // A write from a second page, on a single-stream socket.
  const second = await openPage(browser, `${app.url}/playground/`);
  await second.page.locator('select[aria-label="Stream"] option[value="things"]').waitFor({ state: 'attached' });
  await second.page.getByLabel('Socket').selectOption('single');
  await second.page.getByLabel('Stream').selectOption('things');
  await connect(second.page);
  await sendFromConsole(second.page, undefined, 'patch', { pk, data: { counter: 5 } });
  const secondReply = await frameOf(second.page, '.log-entry[data-kind="reply"][data-action="patch"]');
  assert.deepEqual(secondReply.data, { pk, name: 'patched over DCRF', counter: 5 });
  await subscription.locator('.event[data-action="update"]', { hasText: '"counter":5' }).waitFor();
  assert.equal(await subscription.locator('.event').count(), 2);

  // Errors are highlighted.
  await sendFromConsole(page, undefined, 'retrieve', { pk: 999999 });
  const missing = page.locator('.log-entry.log-error[data-kind="reply"][data-action="retrieve"]');
  await missing.waitFor();
  assert.deepEqual(JSON.parse(await missing.locator('summary code').innerText()).errors, ['Not found']);

  await screenshot(page, 'playground-dcrf');

  // Unsubscribe sends the matching action with the subscription's request_id; the subscription goes.
  await subscription.getByRole('button', { name: 'Unsubscribe' }).click();
  const unsubscribed = await frameOf(page, '.log-entry[data-kind="reply"][data-action="unsubscribe_instance"]');
  assert.equal(unsubscribed.response_status, 204);
  await subscription.waitFor({ state: 'detached' });
  const afterUnsubscribe = await dcrf.request({ action: 'patch', pk, data: { counter: 6 }, request_id: 'p2' });
  assert.equal(afterUnsubscribe.response_status, 200);

  // Nothing more reaches the page: a round trip on its socket comes back with no event before it.
  const eventsBefore = await page.locator('.log-entry[data-kind="event"]').count();
  await sendFromConsole(page, undefined, 'retrieve', { pk });
  const retrieved = await frameOf(page, '.log-entry[data-kind="reply"][data-action="retrieve"]', 2);
  assert.equal(retrieved.data.counter, 6);
  assert.equal(await page.locator('.log-entry[data-kind="event"]').count(), eventsBefore);

  dcrf.close();
  await second.page.close();
  await page.close();
  assert.deepEqual([...errors, ...second.errors], []);
});

test('the token field authenticates the socket; an unknown token is refused visibly', { skip }, async () => {
  const token = await app.token('alice');
  const { page, errors } = await openPage(browser, `${app.url}/playground/`);
  await page.locator('select[aria-label="Stream"] option[value="users"]').waitFor({ state: 'attached' });

  await page.getByLabel('Token').fill('not-a-token');
  await page.getByRole('button', { name: 'Connect' }).click();
  const refused = page.locator('.log-info.log-error', { hasText: 'refused' });
  await refused.waitFor();
  assert.equal(await page.locator('.status-disconnected').count(), 1);

  await page.getByLabel('Token').fill(token);
  await connect(page);
  await sendFromConsole(page, 'users', 'me', {});
  const me = await frameOf(page, '.log-entry[data-kind="reply"][data-action="me"]');
  assert.equal(me.response_status, 200);
  assert.equal(me.data.username, 'alice');
  await screenshot(page, 'playground-token');
  await page.close();
  assert.deepEqual(errors, []);
});
