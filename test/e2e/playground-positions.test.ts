/**
 * The playground's DCRF console and the change feed, in a real browser against the real demo app: a
 * subscription made `since` shows each event's position; after a disconnect it stays listed with
 * "Resume from here", which after reconnecting replays the write made meanwhile.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { TestSocket, type TestApp } from '../helpers/app.js';
import { browserSkipReason, openPage, sendFromConsole, startBrowserApp } from './playground-browser.js';

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

test('events show their position; "Resume from here" after a reconnect replays what was missed', { skip }, async () => {
  const dcrf = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const { page, errors } = await openPage(browser, `${app.url}/playground/`);
  await page.locator('select[aria-label="Stream"] option[value="things"]').waitFor({ state: 'attached' });
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator('.status-connected').waitFor();

  await sendFromConsole(page, 'things', 'subscribe_many', { since: 'latest' });
  const live = page.locator('.subscription:not(.ended)[data-stream="things"][data-action="subscribe_many"]');
  await live.waitFor();
  const made = (await dcrf.request({ action: 'create', data: { name: 'seen live' }, request_id: 1 })).data;
  const event = live.locator('.event[data-action="create"]', { hasText: 'seen live' });
  await event.waitFor();
  assert.match(await event.locator('.badge.position').innerText(), /\S+\.\S+/, 'the event shows its position');

  await page.getByRole('button', { name: 'Disconnect' }).click();
  const ended = page.locator('.subscription.ended[data-action="subscribe_many"]');
  await ended.waitFor();
  await dcrf.request({ action: 'patch', pk: made.pk, data: { name: 'missed while away' }, request_id: 2 });

  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator('.status-connected').waitFor();
  await ended.getByRole('button', { name: 'Resume from here' }).click();
  await live.locator('.event[data-action="update"]', { hasText: 'missed while away' }).waitFor();
  await ended.waitFor({ state: 'detached' });
  assert.deepEqual(errors, []);
  dcrf.close();
  await page.close();
});
