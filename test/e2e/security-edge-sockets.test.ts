/**
 * The socket caps at the upgrade, on the demo app over real sockets: a default per-IP cap (256) and a
 * global cap (MAX_SOCKETS), refused 429 / 503 on every protocol and counted in /metrics; and the
 * per-IP slot is taken at the check, so upgrades arriving together (each waiting on its token lookup)
 * never hold more sockets than the cap.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { eventually, metric, scrape } from '../helpers/hardening.js';
import { upgradeStatus } from '../helpers/dcrf.js';
import { TokenAuthenticator } from '../../src/demo/auth.js';

const M = 'dcrf_gateway_';

/** Opens a socket from `localAddress` (127.0.0.x: Linux routes the whole 127/8 to loopback); rejects with the refusal's status. */
function openFrom(url: string, localAddress = '127.0.0.1', protocols: string[] = []): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { localAddress });
    ws.on('error', () => undefined);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_request, response) => {
      response.resume();
      reject(Object.assign(new Error(`refused ${response.statusCode}`), { status: response.statusCode }));
      ws.terminate();
    });
  });
}

/** 101 when the upgrade opened (the socket is kept in `into`), else the refusal's status. */
async function outcome(url: string, into: WebSocket[], localAddress?: string, protocols?: string[]): Promise<number> {
  try {
    into.push(await openFrom(url, localAddress, protocols));
    return 101;
  } catch (error) {
    return (error as { status?: number }).status ?? 0;
  }
}

/** Closes a socket; resolves once it is closed. */
function closeOne(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.close();
  return closed;
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(sockets.map(closeOne));
  sockets.length = 0;
}

describe('the default per-IP cap', () => {
  let app: TestApp;
  const sockets: WebSocket[] = [];
  after(async () => {
    await closeAll(sockets);
    await app?.close();
  });

  test('without MAX_SOCKETS_PER_IP, one client IP holds 256 sockets and the 257th upgrade is refused 429', async () => {
    app = await startTestApp();
    for (let batch = 0; batch < 256; batch += 64) {
      const opened = await Promise.all(Array.from({ length: 64 }, () => outcome(`${app.wsUrl}/ws/things/`, sockets)));
      assert.deepEqual(new Set(opened), new Set([101]), `batch ${batch}`);
    }
    assert.equal(await upgradeStatus(`${app.wsUrl}/ws/things/`), 429);
    assert.equal(await upgradeStatus(`${app.wsUrl}/graphql`, { protocols: ['graphql-transport-ws'] }), 429);
    // Another client IP is not affected by this one's sockets.
    assert.equal(await outcome(`${app.wsUrl}/ws/things/`, sockets, '127.0.0.2'), 101);
    const text = await scrape(app.url);
    assert.equal(metric(text, `${M}limit_hits_total`, { limit: 'sockets_per_ip' }), 2);
    assert.equal(metric(text, `${M}upgrades_refused_total`, { status: '429' }), 2);
  });
});

describe('the global cap (MAX_SOCKETS) beside the per-IP cap', () => {
  let app: TestApp;
  const sockets: WebSocket[] = [];
  after(async () => {
    await closeAll(sockets);
    await app?.close();
  });

  test('past MAX_SOCKETS every upgrade is refused 503 whatever its IP or protocol; past the per-IP cap, 429; a close frees a slot', async () => {
    app = await startTestApp({ env: { MAX_SOCKETS: '3', MAX_SOCKETS_PER_IP: '2' } });
    const url = `${app.wsUrl}/ws/things/`;
    assert.equal(await outcome(url, sockets, '127.0.0.1'), 101);
    assert.equal(await outcome(`${app.wsUrl}/graphql`, sockets, '127.0.0.1', ['graphql-ws']), 101);
    assert.equal(await outcome(url, sockets, '127.0.0.1'), 429, 'a third socket from one IP');
    assert.equal(await outcome(url, sockets, '127.0.0.2'), 101);
    for (const protocols of [[], ['graphql-transport-ws'], ['graphql-ws']]) {
      const path = protocols.length ? '/graphql' : '/ws';
      assert.equal(
        await outcome(`${app.wsUrl}${path}`, sockets, '127.0.0.3', protocols),
        503,
        `a fourth socket, ${protocols[0] ?? 'dcrf'}`,
      );
    }
    const text = await scrape(app.url);
    assert.equal(metric(text, `${M}limit_hits_total`, { limit: 'sockets' }), 3);
    assert.equal(metric(text, `${M}upgrades_refused_total`, { status: '503' }), 3);
    assert.equal(metric(text, `${M}limit_hits_total`, { limit: 'sockets_per_ip' }), 1);

    const first = sockets.shift()!;
    await closeOne(first);
    await eventually(() => app.gateway.socketCount === 2, 'the server saw the close');
    assert.equal(await outcome(url, sockets, '127.0.0.3'), 101, 'the freed slot is usable');
  });

  test('MAX_SOCKETS_PER_IP=0 and MAX_SOCKETS=0 mean no cap', async () => {
    const open = await startTestApp({ env: { MAX_SOCKETS: '0', MAX_SOCKETS_PER_IP: '0' } });
    const mine: WebSocket[] = [];
    try {
      const opened = await Promise.all(Array.from({ length: 300 }, () => outcome(`${open.wsUrl}/ws/things/`, mine)));
      assert.deepEqual(new Set(opened), new Set([101]));
    } finally {
      await closeAll(mine);
      await open.close();
    }
  });
});

describe('the per-IP slot is taken at the check', () => {
  let app: TestApp;
  const sockets: WebSocket[] = [];
  after(async () => {
    await closeAll(sockets);
    await app?.close();
  });

  test('40 upgrades at once, each waiting on its token lookup, leave exactly MAX_SOCKETS_PER_IP sockets open', async () => {
    // Each upgrade waits for its token lookup between the cap check and the accept: here a lookup
    // that takes a few milliseconds (a remote user store, a busy database), so the upgrades overlap.
    const demo = new TokenAuthenticator();
    const authenticator = {
      authenticate: async (token: string) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return demo.authenticate(token);
      },
    };
    app = await startTestApp({ env: { MAX_SOCKETS_PER_IP: '5' }, gateway: { authenticator } });
    const token = await app.token('racer');
    const url = `${app.wsUrl}/ws/users/?token=${token}`;
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, app.gateway.socketCount)), 1);
    const statuses = await Promise.all(Array.from({ length: 40 }, () => outcome(url, sockets)));
    clearInterval(watch);
    most = Math.max(most, app.gateway.socketCount);
    assert.equal(statuses.filter((status) => status === 101).length, 5, `statuses: ${statuses.join(' ')}`);
    assert.equal(statuses.filter((status) => status === 429).length, 35);
    assert.ok(most <= 5, `${most} sockets were open at once`);

    // Refused upgrades gave their slot back, and so do closed sockets: five more can open after the five close.
    await closeAll(sockets);
    await eventually(() => app.gateway.socketCount === 0, 'the server saw the closes');
    const again = await Promise.all(Array.from({ length: 6 }, () => outcome(url, sockets)));
    assert.deepEqual(again.sort(), [101, 101, 101, 101, 101, 429]);
  });
});
