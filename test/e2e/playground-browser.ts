/**
 * Shared by the playground's browser tests: the system Chromium (never downloaded), the built
 * playground (built here when playground/dist is missing), and screenshots under test/artifacts/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test/artifacts');

/**
 * Why the browser tests do not run here, or undefined when they do. On CI a missing browser is a
 * failure (the test runs and launching throws), never a skip.
 */
export function browserSkipReason(): string | undefined {
  // The UI sees only the wire, which the rest of the suite checks on every backend; one browser run is enough.
  if (process.env.TEST_DATABASE_URL) return 'the browser tests run in the SQLite pass (the playground sees only the wire)';
  if (fs.existsSync(CHROMIUM)) return undefined;
  if (process.env.CI === 'true') return undefined;
  return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
}

/** Builds the playground once if `npm run build` has not. */
export function ensurePlaygroundBuilt(): void {
  if (fs.existsSync(path.join(ROOT, 'playground/dist/index.html'))) return;
  const vite = path.join(ROOT, 'node_modules/.bin/vite');
  const result = spawnSync(vite, ['build', 'playground'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('vite build playground failed');
}

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is required on CI and missing at ${CHROMIUM}`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A page with a fixed viewport for screenshots. `errors` collects uncaught page errors and any request
 * that leaves the app's origin (the playground bundles everything), for the test to assert empty.
 */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors: string[] = [];
  const origin = new URL(url).origin;
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('request', (request) => {
    const target = new URL(request.url());
    const local = target.host === new URL(origin).host || target.protocol === 'data:' || target.protocol === 'blob:';
    if (!local) errors.push(`request outside the app: ${request.url()}`);
  });
  await page.goto(url);
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** The demo app and a browser for one test file's browser tests (the playground built first). */
export async function startBrowserApp(): Promise<{ app: TestApp; browser: Browser }> {
  ensurePlaygroundBuilt();
  const app = await startTestApp();
  return { app, browser: await launchBrowser() };
}

/** In the DCRF console: picks a stream and an action, writes the payload once the console has prefilled it, sends. */
export async function sendFromConsole(
  page: Page,
  stream: string | undefined,
  action: string,
  payload: Record<string, unknown>,
): Promise<void> {
  if (stream) await page.getByLabel('Stream').selectOption(stream);
  await page.getByLabel('Action').selectOption(action);
  await page.waitForFunction(
    (name) => (document.querySelector('textarea') as HTMLTextAreaElement).value.includes(`"action": "${name}"`),
    action,
  );
  await page.getByLabel('Payload').fill(JSON.stringify({ action, ...payload }, null, 2));
  await page.getByRole('button', { name: 'Send', exact: true }).click();
}
