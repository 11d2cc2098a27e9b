/**
 * Each limit of docs/dcrf-protocol.md gives its documented answer, over real sockets, with small
 * limits so the tests stay quick: Origin (403), sockets per IP (429), frame size (close 1009),
 * subscriptions per socket (429 "Too many subscriptions."), frames per second (429 then close 1008),
 * slow consumer (close 1013, others unaffected), and every hit shows in /metrics.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { eventually, metric, scrape, startGateway, upgradeStatus, type TestGateway } from '../helpers/hardening.js';
import { AsyncAPIConsumer } from '../../src/dcrf/consumer.js';
import { action, type ActionArgs, type ActionContext } from '../../src/dcrf/actions.js';
import type { ActionResult } from '../../src/dcrf/protocol.js';
import type { ConsumerClass } from '../../src/dcrf/consumer.js';

const M = 'dcrf_gateway_';

describe('limits of the demo app (configured by environment and GatewayOptions)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({
      env: { ALLOWED_ORIGINS: 'https://allowed.example, https://also.example/' },
      gateway: { maxFrameBytes: 64 * 1024, limits: { maxSubscriptions: 3 } },
    });
  });
  after(async () => {
    await app.close();
  });

  test('unknown Origin is refused 403; listed, same-origin and absent Origins open', async () => {
    const url = `${app.wsUrl}/ws/things/`;
    assert.equal(await upgradeStatus(url, { Origin: 'https://evil.example' }), 403);
    assert.equal(await upgradeStatus(url, { Origin: 'null' }), 403);
    assert.equal(await upgradeStatus(`${app.wsUrl}/ws`, { Origin: 'http://127.0.0.1.evil.example' }), 403);
    assert.equal(await upgradeStatus(url, { Origin: 'https://allowed.example' }), 101);
    assert.equal(await upgradeStatus(url, { Origin: 'https://also.example' }), 101);
    assert.equal(await upgradeStatus(url, { Origin: `http://127.0.0.1:${app.port}` }), 101);
    assert.equal(await upgradeStatus(url), 101);
    const text = await scrape(app.url);
    assert.equal(metric(text, `${M}upgrades_refused_total`, { status: '403' }), 3);
    assert.equal(metric(text, `${M}limit_hits_total`, { limit: 'origin' }), 3);
  });

  test('a frame over maxFrameBytes closes that socket 1009; another socket is answered meanwhile', async () => {
    const big = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const other = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    big.send(JSON.stringify({ action: 'list', request_id: 1, pad: 'x'.repeat(70 * 1024) }));
    const listed = await other.request({ action: 'list', request_id: 'other' });
    assert.equal(listed.response_status, 200);
    assert.equal(await big.closed, 1009);
    assert.equal((await other.request({ action: 'list', request_id: 'again' })).response_status, 200);
    other.close();
  });

  test('a frame header announcing gigabytes is refused at once, before any payload is buffered', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    // A masked text frame claiming 2^40 bytes of payload, followed by a handful: the server must not wait for the rest.
    const header = Buffer.alloc(14);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(2n ** 40n, 2);
    header.writeUInt32BE(0x01020304, 10);
    (socket.ws as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.concat([header, Buffer.from('{"action"')]));
    assert.equal(await socket.closed, 1009);
    await eventually(
      async () => metric(await scrape(app.url), `${M}limit_hits_total`, { limit: 'frame_size' }) >= 2,
      'frame_size hits counted',
    );
  });

  test('subscriptions per socket: over the limit is 429 "Too many subscriptions.", and a freed slot is reusable', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const pks: number[] = [];
    for (let i = 0; i < 4; i++)
      pks.push((await socket.request({ action: 'create', data: { name: `s${i}` }, request_id: `c${i}` })).data.pk);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(
        await socket.request({ action: 'subscribe_instance', pk: pks[i], request_id: `sub${i}` }),
        reply('subscribe_instance', null, 201, `sub${i}`),
      );
    }
    assert.deepEqual(
      await socket.request({ action: 'subscribe_instance', pk: pks[3], request_id: 'sub3' }),
      reply('subscribe_instance', null, 429, 'sub3', ['Too many subscriptions.']),
    );
    // The refused subscription really is absent: a change of that row sends nothing.
    await socket.request({ action: 'patch', pk: pks[3], data: { name: 'changed' }, request_id: 'p3' });
    assert.equal(await socket.quiet(150), true);
    assert.deepEqual(
      await socket.request({ action: 'unsubscribe_instance', pk: pks[0], request_id: 'sub0' }),
      reply('unsubscribe_instance', null, 204, 'sub0'),
    );
    assert.deepEqual(
      await socket.request({ action: 'subscribe_instance', pk: pks[3], request_id: 'sub3' }),
      reply('subscribe_instance', null, 201, 'sub3'),
    );
    const text = await scrape(app.url);
    assert.equal(metric(text, `${M}limit_hits_total`, { limit: 'subscriptions' }), 1);
    assert.equal(metric(text, `${M}dcrf_actions_total`, { stream: 'things', action: 'subscribe_instance', status: '429' }), 1);
    socket.close();
  });
});

describe('sockets per client IP (MAX_SOCKETS_PER_IP)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { MAX_SOCKETS_PER_IP: '2' } });
  });
  after(async () => {
    await app.close();
  });

  test('the upgrade past the limit is refused 429; a closed socket frees its slot', async () => {
    const first = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const second = await TestSocket.open(`${app.wsUrl}/ws`);
    assert.equal(await upgradeStatus(`${app.wsUrl}/ws/things/`), 429);
    assert.equal(await upgradeStatus(`${app.wsUrl}/graphql`, {}), 429);
    first.close();
    await first.closed;
    await eventually(() => app.gateway.socketCount === 1, 'the server saw the close');
    const third = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    assert.equal((await third.request({ action: 'list', request_id: 1 })).response_status, 200);
    const text = await scrape(app.url);
    assert.equal(metric(text, `${M}upgrades_refused_total`, { status: '429' }), 2);
    assert.equal(metric(text, `${M}limit_hits_total`, { limit: 'sockets_per_ip' }), 2);
    second.close();
    third.close();
  });
});

/** Released by the test: `hold` waits for it, so frames pile up behind a running action. */
let release: () => void = () => undefined;
let held = new Promise<void>((resolve) => (release = resolve));

/** Test consumer: `echo` answers at once; `hold` waits for the test; `flood` (detached) pushes events until the socket closes. */
class LoadConsumer extends AsyncAPIConsumer {
  @action()
  async hold(): Promise<ActionResult> {
    await held;
    return [null, 200];
  }

  @action()
  echo(args: ActionArgs): ActionResult {
    return [args.data ?? null, 200];
  }

  @action({ detached: true })
  async flood(args: ActionArgs, context: ActionContext): Promise<ActionResult> {
    const chunk = 'x'.repeat(Number(args.size));
    let sent = 0;
    while (!context.signal.aborted && sent < Number(args.max)) {
      this.sendJson({ action: 'flood', data: chunk });
      sent += chunk.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return [sent, 200];
  }
}

describe('per-socket rate and output limits (a Gateway with test consumers)', () => {
  let gw: TestGateway;
  let unthrottled: TestGateway;
  before(async () => {
    gw = await startGateway({
      streams: { load: LoadConsumer as unknown as ConsumerClass },
      // A slow refill (5/s) keeps the counts below true even on a loaded machine.
      limits: { ratePerSecond: 5, rateBurst: 20, throttleCloseMs: 1000, maxBufferedBytes: 256 * 1024 },
    });
    unthrottled = await startGateway({ streams: { load: LoadConsumer as unknown as ConsumerClass } });
  });
  after(async () => {
    await gw.close();
    await unthrottled.close();
  });

  test('frames sent while an action runs pile up only so far: reading pauses, and every frame is still answered in order', async () => {
    const socket = await TestSocket.open(`${unthrottled.wsUrl}/ws/load/`);
    socket.send({ action: 'hold', request_id: 'hold' });
    for (let i = 0; i < 1000; i++) socket.send({ action: 'echo', data: i, request_id: i });
    await eventually(
      async () => metric(await unthrottled.gateway.metrics!.text(), `${M}limit_hits_total`, { limit: 'inbound_queue' }) >= 1,
      'reading paused',
    );
    release();
    held = new Promise<void>((resolve) => (release = resolve));
    assert.deepEqual(await socket.next(), reply('hold', null, 200, 'hold'));
    for (let i = 0; i < 1000; i++) assert.deepEqual(await socket.next(), reply('echo', i, 200, i));
    socket.close();
  });

  test('frames past the burst are answered 429 "Request was throttled." in order, and the socket stays open', async () => {
    const socket = await TestSocket.open(`${gw.wsUrl}/ws/load/`);
    for (let i = 0; i < 40; i++) socket.send({ action: 'echo', data: i, request_id: i });
    const replies = [];
    for (let i = 0; i < 40; i++) replies.push(await socket.next());
    assert.deepEqual(
      replies.map((r) => r.request_id),
      [...Array(40).keys()],
    );
    for (let i = 0; i < 20; i++) assert.deepEqual(replies[i], reply('echo', i, 200, i));
    const throttled = replies.filter((r) => r.response_status === 429);
    assert.ok(throttled.length >= 10, `${throttled.length} throttled of 40`);
    for (const r of throttled) assert.deepEqual(r, reply('echo', null, 429, r.request_id, ['Request was throttled.']));
    // Unreadable frames over the rate are still answered (action and request_id null).
    socket.send('not json');
    assert.deepEqual(await socket.next(), reply(null, null, 429, null, ['Request was throttled.']));
    assert.equal(socket.closeCode, undefined);
    socket.close();
  });

  test('continued excess closes the socket 1008, even though the refill lets some frames through', async () => {
    const socket = await TestSocket.open(`${gw.wsUrl}/ws/load/`);
    let throttled = 0;
    let passedDuringExcess = 0;
    socket.ws.on('message', (data) => {
      const status = JSON.parse(String(data)).response_status;
      if (status === 429) throttled++;
      else if (throttled > 0) passedDuringExcess++;
    });
    // About 100 frames per second against a limit of 5: after the burst, one in twenty passes.
    const timer = setInterval(() => {
      if (socket.ws.readyState === WebSocket.OPEN) socket.send({ action: 'echo', data: 1, request_id: 1 });
    }, 10);
    const code = await Promise.race([socket.closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 20_000))]);
    clearInterval(timer);
    assert.equal(code, 1008);
    assert.ok(throttled > 0 && passedDuringExcess > 0, `${throttled} throttled, ${passedDuringExcess} passed after the first throttle`);
    const text = await gw.gateway.metrics!.text();
    assert.ok(metric(text, `${M}limit_hits_total`, { limit: 'rate' }) > 0);
    assert.equal(metric(text, `${M}limit_hits_total`, { limit: 'rate_close' }), 1);
  });

  test('a client that stops reading is closed 1013 once its output passes the bound; others are answered meanwhile', async () => {
    const before = metric(await gw.gateway.metrics!.text(), `${M}slow_consumer_closes_total`);
    const stalled = new WebSocket(`${gw.wsUrl}/ws/load/`);
    stalled.on('error', () => undefined);
    await new Promise((resolve) => stalled.once('open', resolve));
    const stalledClosed = new Promise<number>((resolve) => stalled.once('close', (code) => resolve(code)));
    stalled.send(JSON.stringify({ action: 'flood', size: 64 * 1024, max: 512 * 1024 * 1024, request_id: 'flood' }));
    stalled.pause();
    const other = await TestSocket.open(`${gw.wsUrl}/ws/load/`);
    let answered = 0;
    await eventually(
      async () => {
        assert.deepEqual(
          await other.request({ action: 'echo', data: answered, request_id: answered }),
          reply('echo', answered, 200, answered),
        );
        answered++;
        return metric(await gw.gateway.metrics!.text(), `${M}slow_consumer_closes_total`) > before;
      },
      'the stalled socket was closed as a slow consumer',
      20_000,
    );
    assert.ok(answered > 0);
    stalled.resume();
    assert.equal(await stalledClosed, 1013);
    assert.deepEqual(await other.request({ action: 'echo', data: 'after', request_id: 'after' }), reply('echo', 'after', 200, 'after'));
    other.close();
  });
});
