/**
 * `/playground` over HTTP: the page and its assets with the right content types, compressed when
 * asked, and nothing outside playground/dist reachable however the path is spelled.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { playgroundRoute } from '../../src/server/playground.js';
import { ensurePlaygroundBuilt } from './playground-browser.js';

let app: TestApp;
before(async () => {
  ensurePlaygroundBuilt();
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request with the path sent exactly as written (fetch would normalize `..` away). */
function get(port: number, rawPath: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path: rawPath, method: options.method ?? 'GET', headers: options.headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

test('/playground redirects to /playground/, which serves the page', async () => {
  const bare = await get(app.port, '/playground?x=1');
  assert.equal(bare.status, 308);
  assert.equal(bare.headers.location, '/playground/?x=1');

  const page = await get(app.port, '/playground/');
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['cache-control'], 'no-cache');
  assert.match(page.body.toString(), /<div id="root"><\/div>/);
  // Every asset is bundled and local: nothing the page loads comes from another host.
  assert.doesNotMatch(page.body.toString(), /(src|href)="(https?:)?\/\//);
});

test('assets are served with their content types, cached, and gzipped when accepted', async () => {
  const page = (await get(app.port, '/playground/')).body.toString();
  const script = /src="(\/playground\/assets\/[^"]+\.js)"/.exec(page)?.[1];
  const style = /href="(\/playground\/assets\/[^"]+\.css)"/.exec(page)?.[1];
  assert.ok(script && style, 'the page names its script and stylesheet');

  const js = await get(app.port, script);
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(js.headers['x-content-type-options'], 'nosniff');
  assert.equal(js.headers['content-encoding'], undefined);

  const zipped = await get(app.port, script, { headers: { 'accept-encoding': 'gzip, br' } });
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.ok(zipped.body.length < js.body.length);
  assert.deepEqual(gunzipSync(zipped.body), js.body);

  const css = await get(app.port, style);
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');

  const head = await get(app.port, script, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String(js.body.length));
  assert.equal(head.body.length, 0);

  const post = await get(app.port, script, { method: 'POST' });
  assert.equal(post.status, 405);
});

test('no path reaches a file outside playground/dist', async () => {
  const secret = fs.readFileSync('package.json', 'utf8');
  for (const rawPath of [
    '/playground/../package.json',
    '/playground/assets/../../../package.json',
    '/playground/..%2f..%2fpackage.json',
    '/playground/%2e%2e/%2e%2e/package.json',
    '/playground/%2e%2e%2f%2e%2e%2fpackage.json',
    '/playground/..%5c..%5cpackage.json',
    '/playground/%00/../package.json',
    '/playground/%E0%A4%A',
    '/playground//etc/passwd',
    '/playground/assets',
    '/playground/assets/missing.js',
  ]) {
    const answer = await get(app.port, rawPath);
    assert.ok(answer.status === 404, `${rawPath} answered ${answer.status}`);
    assert.ok(!answer.body.toString().includes(secret.slice(0, 40)), `${rawPath} leaked package.json`);
  }
});

test('an unbuilt playground answers 503 with how to build it', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-unbuilt-'));
  const route = playgroundRoute({ dir: empty });
  const server = http.createServer(async (request, response) => {
    if (!(await route(request, response, new URL(request.url ?? '/', 'http://localhost')))) {
      response.writeHead(418);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const answer = await get(port, '/playground/');
    assert.equal(answer.status, 503);
    assert.match(answer.body.toString(), /npm run build/);
    assert.equal((await get(port, '/elsewhere')).status, 418);
  } finally {
    server.close();
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
