/**
 * The HTTP edge of the demo app: `/metrics` behind a bearer token (METRICS_TOKEN) or on a listener of
 * its own (METRICS_PORT), and the security headers: every answer refuses framing, sniffing and
 * referrers; the playground has a CSP under which it works in a real browser (GraphiQL, Monaco and
 * its workers, the DCRF console's socket) without a single violation.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { metric } from '../helpers/hardening.js';
import { browserSkipReason, ensurePlaygroundBuilt, startBrowserApp } from './playground-browser.js';

const M = 'dcrf_gateway_';

describe('METRICS_TOKEN', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { METRICS_TOKEN: 'metrics-s3cret-token' } });
  });
  after(async () => {
    await app.close();
  });

  test('/metrics answers 401 without the bearer token or with another, and the Prometheus text with it', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: 'metrics-s3cret-token' },
      { cookie: 'token=metrics-s3cret-token' },
    ];
    for (const headers of attempts) {
      const refused = await fetch(`${app.url}/metrics`, { headers });
      assert.equal(refused.status, 401, JSON.stringify(headers));
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="metrics"');
      assert.ok(!(await refused.text()).includes(M));
    }
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const allowed = await fetch(`${app.url}/metrics`, { headers: { authorization: 'Bearer metrics-s3cret-token' } });
    assert.equal(allowed.status, 200);
    assert.equal(metric(await allowed.text(), `${M}sockets_open`, { protocol: 'dcrf' }), 1);
    socket.close();
  });
});

describe('METRICS_PORT', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' } });
  });
  after(async () => {
    await app.close();
  });

  test('the metrics move to their own port: the public port no longer serves them', async () => {
    assert.equal((await fetch(`${app.url}/metrics`)).status, 404);
    const port = app.gateway.metricsPort;
    assert.ok(port && port !== app.port, `metrics port ${port}`);
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const scraped = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(scraped.status, 200);
    assert.equal(metric(await scraped.text(), `${M}sockets_open`, { protocol: 'dcrf' }), 1);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 404, 'the metrics port serves only /metrics');
    socket.close();
  });
});

describe('security headers', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await app.close();
  });

  test('every HTTP answer forbids framing, sniffing and referrers; JSON answers may load nothing', async () => {
    ensurePlaygroundBuilt();
    for (const [path, init] of [
      ['/healthz', {}],
      ['/api/streams', {}],
      ['/metrics', {}],
      ['/nowhere', {}],
      ['/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }],
      ['/playground/', {}],
    ] as const) {
      const response = await fetch(`${app.url}${path}`, init);
      await response.arrayBuffer();
      assert.equal(response.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer', path);
      const csp = response.headers.get('content-security-policy') ?? '';
      assert.match(csp, /frame-ancestors 'none'/, path);
      if (path !== '/playground/') assert.match(csp, /default-src 'none'/, path);
    }
  });

  test('the playground page and its assets carry its CSP: scripts from itself only, no inline script', async () => {
    ensurePlaygroundBuilt();
    const page = await fetch(`${app.url}/playground/`);
    const html = await page.text();
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /default-src 'self'/);
    const asset = /src="(\/playground\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, 'the page names its script');
    const script = await fetch(`${app.url}${asset}`);
    await script.arrayBuffer();
    assert.equal(script.headers.get('content-security-policy'), csp, 'a worker takes its CSP from its own script');
  });
});

describe('the playground under its CSP, in a real browser', () => {
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

  test('both tabs work (a DCRF reply, Monaco with its workers, a GraphQL answer) and the browser reports no CSP violation', {
    skip,
  }, async () => {
    const page = await browser.newPage();
    // Recorded from the first script on.
    await page.addInitScript(() => {
      const seen: string[] = ((globalThis as unknown as { __cspViolations: string[] }).__cspViolations = []);
      document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    const consoleProblems: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) consoleProblems.push(message.text());
    });
    const workers: string[] = [];
    page.on('worker', (worker) => workers.push(worker.url()));
    await page.goto(`${app.url}/playground/`);

    await page.locator('select[aria-label="Stream"] option[value="things"]').waitFor({ state: 'attached' });
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('.status-connected').waitFor();
    await page.getByLabel('Stream').selectOption('things');
    await page.getByLabel('Action').selectOption('list');
    await page.waitForFunction(() => (document.querySelector('textarea') as HTMLTextAreaElement).value.includes('"action": "list"'));
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('.log-entry[data-kind="reply"][data-action="list"]').waitFor();

    await page.getByRole('tab', { name: 'GraphQL' }).click();
    await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor();
    const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText('query Typename { __typename }');
    await page.locator('.graphiql-tab', { hasText: 'Typename' }).waitFor();
    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction(() => (document.querySelector('.graphiql-response')?.textContent ?? '').includes('Query'), undefined, {
      timeout: 10_000,
    });
    await page.waitForFunction(() => document.querySelectorAll('.graphiql-query-editor .view-line').length > 0);

    const violations = await page.evaluate(() => (globalThis as unknown as { __cspViolations: string[] }).__cspViolations);
    await page.close();
    assert.deepEqual(violations, []);
    assert.deepEqual(consoleProblems, []);
    assert.ok(
      workers.some((url) => url.includes('/playground/assets/')),
      `Monaco's workers started: ${JSON.stringify(workers)}`,
    );
    assert.deepEqual(errors, []);
  });
});
