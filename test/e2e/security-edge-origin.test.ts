/**
 * Host and Origin on the demo app over real sockets: a DNS-rebinding request (a page on the attacker's
 * own name that resolves here) is refused at the upgrade (403) and over HTTP (421); Origin is compared
 * as scheme, host and port against the gateway's own origin (PUBLIC_ORIGIN when set) and ALLOWED_ORIGINS;
 * ALLOWED_HOSTS adds names; with ALLOWED_ORIGINS=* the `token` cookie never authenticates.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { metric, scrape } from '../helpers/hardening.js';
import { upgradeStatus } from '../helpers/dcrf.js';

const M = 'dcrf_gateway_';

/** A GET with the headers given as they are (Host included), which fetch does not allow. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}

/** A GraphQL POST with the headers given. */
function post(url: string, query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify({ query });
    const request = http.request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(body) }));
      },
    );
    request.on('error', reject);
    request.end(text);
  });
}

describe('the default policy (no PUBLIC_ORIGIN, no ALLOWED_HOSTS)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await app.close();
  });

  test('a DNS-rebinding upgrade (Host and Origin naming the attacker) is refused 403, on every protocol', async () => {
    const evil = `evil.example:${app.port}`;
    for (const protocols of [[], ['graphql-transport-ws'], ['graphql-ws']]) {
      const path = protocols.length ? '/graphql' : '/ws/things/';
      assert.equal(await upgradeStatus(`${app.wsUrl}${path}`, { headers: { Host: evil, Origin: `http://${evil}` }, protocols }), 403, path);
    }
    assert.equal(await upgradeStatus(`${app.wsUrl}/ws`, { headers: { Host: evil } }), 403, 'no Origin, a foreign Host');
    // Names that only look like ours, and Host values a URL parser would read differently.
    for (const host of [`127.0.0.1.evil.example:${app.port}`, `evil.example@127.0.0.1:${app.port}`, `127.0.0.1:${app.port}/x`]) {
      assert.equal(await upgradeStatus(`${app.wsUrl}/ws`, { headers: { Host: host } }), 403, host);
    }
    const text = await scrape(app.url);
    assert.equal(metric(text, `${M}limit_hits_total`, { limit: 'host' }), 7);
  });

  test('HTTP with a foreign Host is answered 421 and serves nothing; /healthz answers any Host (probes use addresses)', async () => {
    for (const path of ['/api/streams', '/playground/', '/metrics', `/graphql?query=${encodeURIComponent('{ things { id } }')}`]) {
      const answer = await get(`${app.url}${path}`, { Host: `evil.example:${app.port}` });
      assert.equal(answer.status, 421, path);
      assert.deepEqual(JSON.parse(answer.body), { detail: 'Host not allowed.' });
    }
    const probe = await get(`${app.url}/healthz`, { Host: `10.1.2.3:${app.port}` });
    assert.equal(probe.status, 200);
  });

  test('the loopback names are served, on the port the client used or another (a tunnel)', async () => {
    for (const host of [`127.0.0.1:${app.port}`, `localhost:${app.port}`, `[::1]:${app.port}`, 'localhost', 'LOCALHOST:9000']) {
      assert.equal((await get(`${app.url}/api/streams`, { Host: host })).status, 200, host);
      assert.equal(await upgradeStatus(`${app.wsUrl}/ws/things/`, { headers: { Host: host } }), 101, host);
    }
  });

  test('Origin is compared with its scheme and port: only http://<Host> is same-origin', async () => {
    const url = `${app.wsUrl}/ws/things/`;
    assert.equal(await upgradeStatus(url, { headers: { Origin: `http://127.0.0.1:${app.port}` } }), 101);
    assert.equal(await upgradeStatus(url, { headers: { Origin: `https://127.0.0.1:${app.port}` } }), 403, 'another scheme');
    assert.equal(await upgradeStatus(url, { headers: { Origin: `http://127.0.0.1:${app.port + 1}` } }), 403, 'another port');
    assert.equal(await upgradeStatus(url, { headers: { Origin: 'http://127.0.0.1' } }), 403, 'no port');
  });

  test('a cross-site POST carrying the token cookie is anonymous: the cookie authenticates only requests from allowed origins', async () => {
    const token = await app.token('cookie_alice');
    const same = await post(`${app.url}/graphql`, '{ me { username } }', { cookie: `token=${token}` });
    assert.deepEqual(same.body.data, { me: { username: 'cookie_alice' } });
    const cross = await post(`${app.url}/graphql`, '{ me { username } }', { cookie: `token=${token}`, origin: 'https://evil.example' });
    assert.equal(cross.status, 200);
    assert.deepEqual(cross.body.data, { me: null });
    // A cross-site GET carries no Origin; the browser says where it comes from in Sec-Fetch-Site.
    const query = `${app.url}/graphql?query=${encodeURIComponent('{ me { username } }')}`;
    const crossGet = await get(query, { cookie: `token=${token}`, accept: 'application/json', 'sec-fetch-site': 'cross-site' });
    assert.deepEqual(JSON.parse(crossGet.body).data, { me: null });
    const sameGet = await get(query, { cookie: `token=${token}`, accept: 'application/json', 'sec-fetch-site': 'same-origin' });
    assert.deepEqual(JSON.parse(sameGet.body).data, { me: { username: 'cookie_alice' } });
    // A header token is no ambient credential: it still counts.
    const bearer = await post(`${app.url}/graphql`, '{ me { username } }', {
      authorization: `Bearer ${token}`,
      origin: 'https://evil.example',
    });
    assert.deepEqual(bearer.body.data, { me: { username: 'cookie_alice' } });
  });
});

describe('PUBLIC_ORIGIN and ALLOWED_HOSTS', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { PUBLIC_ORIGIN: 'https://gw.example', ALLOWED_HOSTS: 'internal.example, pinned.example:9000' } });
  });
  after(async () => {
    await app.close();
  });

  test('the public origin is the same-origin, scheme and port included', async () => {
    const url = `${app.wsUrl}/ws/things/`;
    assert.equal(await upgradeStatus(url, { headers: { Host: 'gw.example', Origin: 'https://gw.example' } }), 101);
    assert.equal(await upgradeStatus(url, { headers: { Host: 'gw.example', Origin: 'http://gw.example' } }), 403, 'plain http');
    assert.equal(await upgradeStatus(url, { headers: { Host: 'gw.example', Origin: 'https://gw.example:8443' } }), 403, 'another port');
    // http://<Host> is no longer same-origin once the public origin is known.
    assert.equal(await upgradeStatus(url, { headers: { Origin: `http://127.0.0.1:${app.port}` } }), 403);
  });

  test('the public origin host and ALLOWED_HOSTS are served; a port in an entry is compared', async () => {
    for (const host of ['gw.example', 'internal.example', `internal.example:${app.port}`, 'pinned.example:9000', `127.0.0.1:${app.port}`]) {
      assert.equal((await get(`${app.url}/api/streams`, { Host: host })).status, 200, host);
    }
    for (const host of ['pinned.example:9001', 'pinned.example', 'other.example']) {
      assert.equal((await get(`${app.url}/api/streams`, { Host: host })).status, 421, host);
      assert.equal(await upgradeStatus(`${app.wsUrl}/ws`, { headers: { Host: host } }), 403, host);
    }
  });
});

describe('ALLOWED_ORIGINS=* and ALLOWED_HOSTS=*', () => {
  let app: TestApp;
  let token: string;
  before(async () => {
    app = await startTestApp({ env: { ALLOWED_ORIGINS: '*', ALLOWED_HOSTS: '*' } });
    token = await app.token('star_alice');
  });
  after(async () => {
    await app.close();
  });

  test('any Host and any Origin are served', async () => {
    assert.equal((await get(`${app.url}/api/streams`, { Host: 'anything.example' })).status, 200);
    assert.equal(
      await upgradeStatus(`${app.wsUrl}/ws/things/`, { headers: { Host: 'anything.example', Origin: 'https://elsewhere.example' } }),
      101,
    );
  });

  test('the token cookie is never read: a cookie-only socket is anonymous; the header and query still authenticate', async () => {
    const byCookie = await TestSocket.open(`${app.wsUrl}/ws/users/`, {
      headers: { Cookie: `token=${token}`, Origin: 'https://elsewhere.example' },
    });
    const refused = await byCookie.request({ action: 'me', request_id: 1 });
    assert.equal(refused.response_status, 403);
    byCookie.close();
    // An unknown cookie token is ignored too (not a 401): the cookie is not a credential here.
    assert.equal(await upgradeStatus(`${app.wsUrl}/ws/users/`, { headers: { Cookie: 'token=not-a-token' } }), 101);

    const byQuery = await TestSocket.open(`${app.wsUrl}/ws/users/?token=${token}`, { headers: { Origin: 'https://elsewhere.example' } });
    assert.equal((await byQuery.request({ action: 'me', request_id: 2 })).data.username, 'star_alice');
    byQuery.close();
    const byHeader = await post(`${app.url}/graphql`, '{ me { username } }', { authorization: `Bearer ${token}` });
    assert.deepEqual(byHeader.body.data, { me: { username: 'star_alice' } });
    const cookieOnly = await post(`${app.url}/graphql`, '{ me { username } }', { cookie: `token=${token}` });
    assert.deepEqual(cookieOnly.body.data, { me: null });
  });
});
