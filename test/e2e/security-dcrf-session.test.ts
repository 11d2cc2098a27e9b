/**
 * Security round 2, the DCRF session and observers, over real sockets: every (group, request id) counts
 * against the subscription limit and client-chosen keys are capped (item 3); the bytes a socket makes
 * the server keep are bounded (item 6); detached actions are capped per socket and a streamed list
 * keeps pace with its reader (item 7); silent peers are pinged out (item 9); events held behind a
 * running action count against the output bound (item 11); `groupSend` calls declared handlers only
 * (item 14).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startTestApp, TestSocket, reply, type TestApp } from '../helpers/app.js';
import { captureLogs, eventually, metric, scrape, startGateway, type TestGateway } from '../helpers/hardening.js';
import { action, groupHandler, type ActionArgs } from '../../src/dcrf/actions.js';
import { AsyncAPIConsumer, type ConsumerClass } from '../../src/dcrf/consumer.js';
import { GenericAsyncAPIConsumer } from '../../src/dcrf/generic.js';
import { StreamedPaginatedListMixin } from '../../src/dcrf/mixins.js';
import type { ActionResult } from '../../src/dcrf/protocol.js';
import type { Resource } from '../../src/resources/resource.js';

const M = 'dcrf_gateway_';
const TOO_LONG = (field: string) => [{ [field]: ['Ensure this field has no more than 256 characters.'] }];
/** A string whose JSON text is exactly `bytes` long (two quotes around it). */
const jsonOf = (bytes: number) => 'k'.repeat(bytes - 2);

describe('subscriptions and keys of the demo app (item 3)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ gateway: { limits: { maxSubscriptions: 5 } } });
  });
  after(async () => {
    await app.close();
  });

  test('every request id on one group is a subscription: the sixth is 429, and one patch sends five frames', async () => {
    const socket = await TestSocket.open(`${app.wsUrl}/ws/classrooms/`);
    const school = await TestSocket.open(`${app.wsUrl}/ws/schools/`);
    const schoolPk = (await school.request({ action: 'create', data: { name: 'S' }, request_id: 's' })).data.id;
    const classroom = (await socket.request({ action: 'create', data: { name: 'C', school: schoolPk }, request_id: 'c' })).data;
    for (let i = 0; i < 5; i++) {
      const frame = { action: 'subscribe_to_classrooms_in_school', school_pk: schoolPk, request_id: `r${i}` };
      assert.deepEqual(await socket.request(frame), reply('subscribe_to_classrooms_in_school', null, 201, `r${i}`));
    }
    assert.deepEqual(
      await socket.request({ action: 'subscribe_to_classrooms_in_school', school_pk: schoolPk, request_id: 'r5' }),
      reply('subscribe_to_classrooms_in_school', null, 429, 'r5', ['Too many subscriptions.']),
    );
    // The same request id again is no new subscription (and no refusal).
    assert.equal(
      (await socket.request({ action: 'subscribe_to_classrooms_in_school', school_pk: schoolPk, request_id: 'r4' })).response_status,
      201,
    );

    assert.equal((await socket.request({ action: 'patch', pk: classroom.id, data: { name: 'C2' }, request_id: 'p' })).response_status, 200);
    const events = [await socket.next(), await socket.next(), await socket.next(), await socket.next(), await socket.next()];
    assert.deepEqual(events.map((event) => event.request_id).sort(), ['r0', 'r1', 'r2', 'r3', 'r4']);
    // A refused request id frees nothing and gets nothing: the next frame is the answer to the next request.
    assert.deepEqual(
      await socket.request({ action: 'unsubscribe_from_classrooms_in_school', school_pk: schoolPk, request_id: 'r0' }),
      reply('unsubscribe_from_classrooms_in_school', null, 204, 'r0'),
    );
    assert.deepEqual(
      await socket.request({ action: 'subscribe_to_classrooms_in_school', school_pk: schoolPk, request_id: 'r5' }),
      reply('subscribe_to_classrooms_in_school', null, 201, 'r5'),
    );
    assert.ok(metric(await scrape(app.url), `${M}limit_hits_total`, { limit: 'subscriptions' }) >= 1);
    socket.close();
    school.close();
  });

  test('request ids on one chat are counted one by one: the sixth is 429, and a join reaches five', async () => {
    const chat = await TestSocket.open(`${app.wsUrl}/ws/chat/`);
    for (let i = 0; i < 5; i++) {
      assert.equal((await chat.request({ action: 'subscribe_joined', chat_id: 1, request_id: i })).response_status, 201);
    }
    assert.deepEqual(
      await chat.request({ action: 'subscribe_joined', chat_id: 1, request_id: 5 }),
      reply('subscribe_joined', null, 429, 5, ['Too many subscriptions.']),
    );
    assert.deepEqual(await chat.request({ action: 'join_chat', chat_id: 1, request_id: 'j' }), reply('join_chat', null, 204, 'j'));
    const joined = [await chat.next(), await chat.next(), await chat.next(), await chat.next(), await chat.next()];
    assert.deepEqual(joined.map((event) => event.request_id).sort(), [0, 1, 2, 3, 4]);
    chat.close();
  });

  test('client-chosen keys past 256 bytes of JSON are 400 with a field error; 256 exactly is accepted', async () => {
    const things = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const pk = (await things.request({ action: 'create', data: { name: 'k' }, request_id: 1 })).data.pk;
    const long = jsonOf(257);
    const refused: Array<[string, Record<string, unknown>, string]> = [
      ['things', { action: 'subscribe_instance', pk, request_id: long }, 'request_id'],
      ['things', { action: 'subscribe_instance', pk: long, request_id: 1 }, 'pk'],
      ['things', { action: 'subscribe_many', request_id: long }, 'request_id'],
      ['things', { action: 'subscribe_many', request_id: 1, things: Array.from({ length: 100 }, (_, i) => i) }, 'things'],
      ['tests', { action: 'subscribe_activity', request_id: long }, 'request_id'],
      ['classrooms', { action: 'subscribe_to_classrooms_in_school', school_pk: 1, request_id: long }, 'request_id'],
      ['classrooms', { action: 'subscribe_to_classrooms_in_school', school_pk: long }, 'school_pk'],
      ['classrooms', { action: 'subscribe_to_classroom', classroom_pk: long }, 'classroom_pk'],
      ['chat', { action: 'subscribe_joined', chat_id: long }, 'chat_id'],
      ['chat', { action: 'subscribe_joined', chat_id: 1, request_id: long }, 'request_id'],
      // Bytes, not characters: 200 two-byte characters are 402 bytes of JSON.
      ['chat', { action: 'subscribe_joined', chat_id: 'é'.repeat(200) }, 'chat_id'],
    ];
    const mux = await TestSocket.open(`${app.wsUrl}/ws`);
    for (const [stream, payload, field] of refused) {
      const answer = await mux.request({ stream, payload });
      assert.deepEqual(
        answer,
        { stream, payload: reply(payload.action, null, 400, payload.request_id ?? null, TOO_LONG(field)) },
        `${stream} ${String(payload.action)} ${field}`,
      );
    }
    const alice = { Authorization: `Bearer ${await app.token('alice')}` };
    const notes = await TestSocket.open(`${app.wsUrl}/ws/notes/`, { headers: alice });
    assert.deepEqual(
      await notes.request({ action: 'subscribe_many', request_id: long }),
      reply('subscribe_many', null, 400, long, TOO_LONG('request_id')),
    );
    notes.close();
    const fits = jsonOf(256);
    assert.equal(
      (await mux.request({ stream: 'chat', payload: { action: 'subscribe_joined', chat_id: fits, request_id: 'ok' } })).payload
        .response_status,
      201,
    );
    assert.equal(
      (await mux.request({ stream: 'things', payload: { action: 'subscribe_instance', pk, request_id: fits } })).payload.response_status,
      201,
    );
    assert.ok(metric(await scrape(app.url), `${M}limit_hits_total`, { limit: 'key_length' }) >= refused.length);
    things.close();
    mux.close();
  });

  test('the attack of the report: 256 KiB request ids on subscribe_joined are each refused 400', async () => {
    const chat = await TestSocket.open(`${app.wsUrl}/ws/chat/`);
    const big = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 20; i++) chat.send({ action: 'subscribe_joined', chat_id: 1, request_id: `${i}${big}` });
    for (let i = 0; i < 20; i++) {
      const answer = await chat.next();
      assert.equal(answer.response_status, 400);
      assert.deepEqual(answer.errors, TOO_LONG('request_id'));
    }
    chat.close();
  });
});

describe('bytes one socket makes the server keep (item 6, DCRF)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { MAX_RETAINED_BYTES: '4096' } });
  });
  after(async () => {
    await app.close();
  });

  test('subscriptions whose keys pass MAX_RETAINED_BYTES are refused 429; an unsubscribe frees their bytes', async () => {
    const chat = await TestSocket.open(`${app.wsUrl}/ws/chat/`);
    const id = (i: number) => `${String(i).padStart(3, '0')}${'i'.repeat(200)}`;
    let accepted = 0;
    for (; accepted < 100; accepted++) {
      const answer = await chat.request({ action: 'subscribe_joined', chat_id: 1, request_id: id(accepted) });
      if (answer.response_status !== 201) {
        assert.deepEqual(answer, reply('subscribe_joined', null, 429, id(accepted), ['Too many subscriptions.']));
        break;
      }
    }
    // 4096 bytes of ~205-byte request ids (and the group's name once): about 19 subscriptions, far below the count limit.
    assert.ok(accepted >= 15 && accepted <= 20, `${accepted} accepted`);
    assert.equal((await chat.request({ action: 'unsubscribe_joined', chat_id: 1, request_id: id(0) })).response_status, 204);
    assert.equal((await chat.request({ action: 'subscribe_joined', chat_id: 1, request_id: id(accepted) })).response_status, 201);
    assert.ok(metric(await scrape(app.url), `${M}limit_hits_total`, { limit: 'retained_bytes' }) >= 1);
    chat.close();
  });

  test('a subscription keeps its frame: keys the action never reads count too, and past the bytes the next one is 429', async () => {
    const things = await TestSocket.open(`${app.wsUrl}/ws/things/`);
    const pk = (await things.request({ action: 'create', data: { name: 'kept' }, request_id: 1 })).data.pk;
    const pad = 'p'.repeat(3000);
    assert.deepEqual(
      await things.request({ action: 'subscribe_instance', pk, request_id: 'a', pad }),
      reply('subscribe_instance', null, 201, 'a'),
    );
    assert.deepEqual(
      await things.request({ action: 'subscribe_many', request_id: 'b', pad }),
      reply('subscribe_many', null, 429, 'b', ['Too many subscriptions.']),
    );
    assert.deepEqual(
      await things.request({ action: 'subscribe_instance', pk, request_id: 'c', pad }),
      reply('subscribe_instance', null, 429, 'c', ['Too many subscriptions.']),
    );
    // Small frames still fit beside it.
    assert.deepEqual(await things.request({ action: 'subscribe_many', request_id: 'd' }), reply('subscribe_many', null, 201, 'd'));
    assert.deepEqual(
      await things.request({ action: 'unsubscribe_instance', pk, request_id: 'a' }),
      reply('unsubscribe_instance', null, 204, 'a'),
    );
    assert.deepEqual(
      await things.request({ action: 'subscribe_instance', pk, request_id: 'c', pad }),
      reply('subscribe_instance', null, 201, 'c'),
    );
    things.close();
  });
});

/** Released by the test: `hold` and `wait` wait for it. */
let release: () => void = () => undefined;
let held = new Promise<void>((resolve) => (release = resolve));
function releaseHeld(): void {
  release();
  held = new Promise<void>((resolve) => (release = resolve));
}

/** Test consumer: `echo` answers at once; `hold` waits for the test; `wait` does too, detached; `emit_and_hold` pushes events, then waits. */
class SessionConsumer extends AsyncAPIConsumer {
  @action()
  echo(args: ActionArgs): ActionResult {
    return [args.data ?? null, 200];
  }

  @action()
  async hold(): Promise<ActionResult> {
    await held;
    return [null, 200];
  }

  @action({ detached: true })
  async wait(): Promise<ActionResult> {
    await held;
    return ['done', 200];
  }

  @action()
  async emit_and_hold(args: ActionArgs): Promise<ActionResult> {
    const chunk = 'e'.repeat(Number(args.size));
    for (let i = 0; i < Number(args.count); i++) {
      this.sendJson({ action: 'event', data: chunk });
      await new Promise((resolve) => setImmediate(resolve));
    }
    await held;
    return [null, 200];
  }

  @action()
  async join(args: ActionArgs): Promise<ActionResult> {
    await this.groupAdd(String(args.group));
    return [null, 201];
  }

  @action()
  async send(args: ActionArgs): Promise<ActionResult> {
    await this.groupSend(String(args.group), { type: String(args.type), ...(args.message as object) });
    return [null, 204];
  }

  /** An action with a visible effect, to show a group message cannot reach it. */
  @action()
  announce(): ActionResult {
    this.sendJson({ action: 'announced' });
    return undefined;
  }

  @groupHandler()
  chat_message(message: { text?: unknown }): void {
    this.sendJson({ action: 'chat.message', data: message.text ?? null });
  }
}

const PAGES = 200;
const PAGE_BYTES = 64 * 1024;
/** Pages the fake resource has produced: how far the walk got. */
let pagesRead = 0;

/** A resource of PAGES pages of one 64 KiB row each, with no database behind it. */
const bigPages = {
  permission: undefined,
  async page(_scope: unknown, limit: number, offset: number) {
    pagesRead++;
    return { count: PAGES, results: [{ id: offset, blob: 'p'.repeat(PAGE_BYTES) }], limit, offset };
  },
} as unknown as Resource;

class BigListConsumer extends StreamedPaginatedListMixin(GenericAsyncAPIConsumer) {
  static override resource = bigPages;
  static override pagination = { defaultLimit: 1, maxLimit: 1 };
}

describe('a Gateway with test consumers: retained frames, detached actions, held events, group handlers', () => {
  let gw: TestGateway;
  let small: TestGateway;
  before(async () => {
    const streams = { s: SessionConsumer as unknown as ConsumerClass, big: BigListConsumer as unknown as ConsumerClass };
    gw = await startGateway({ streams, limits: { maxRetainedBytes: 64 * 1024, maxBufferedBytes: 256 * 1024 } });
    small = await startGateway({ streams, limits: { maxBufferedBytes: 64 * 1024 } });
  });
  after(async () => {
    releaseHeld();
    await gw.close();
    await small.close();
  });

  test('frames waiting behind an action stop the reading once their bytes pass maxRetainedBytes; all are answered in order', async () => {
    const socket = await TestSocket.open(`${gw.wsUrl}/ws/s/`);
    const pad = 'q'.repeat(16 * 1024);
    socket.send({ action: 'hold', request_id: 'hold' });
    // Twelve 16 KiB frames: far under the 256-frame count, three times the byte bound.
    for (let i = 0; i < 12; i++) socket.send({ action: 'echo', data: i, pad, request_id: i });
    await eventually(
      async () => metric(await gw.gateway.metrics!.text(), `${M}limit_hits_total`, { limit: 'inbound_queue' }) >= 1,
      'reading paused',
    );
    releaseHeld();
    assert.deepEqual(await socket.next(), reply('hold', null, 200, 'hold'));
    for (let i = 0; i < 12; i++) assert.deepEqual(await socket.next(), reply('echo', i, 200, i));
    socket.close();
  });

  test('16 detached actions run at once per socket; more are 429 "Request was throttled.", with no listener warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const socket = await TestSocket.open(`${gw.wsUrl}/ws/s/`);
      for (let i = 0; i < 20; i++) socket.send({ action: 'wait', request_id: i });
      const refused = [await socket.next(), await socket.next(), await socket.next(), await socket.next()];
      for (const [i, answer] of refused.entries()) assert.deepEqual(answer, reply('wait', null, 429, 16 + i, ['Request was throttled.']));
      assert.deepEqual(await socket.request({ action: 'echo', data: 'meanwhile', request_id: 'e' }), reply('echo', 'meanwhile', 200, 'e'));
      releaseHeld();
      const done = [];
      for (let i = 0; i < 16; i++) done.push(await socket.next());
      assert.deepEqual(
        done.map((answer) => answer.request_id).sort((a, b) => a - b),
        [...Array(16).keys()],
      );
      for (const answer of done) assert.equal(answer.data, 'done');
      // Finished ones free their slots.
      socket.send({ action: 'wait', request_id: 'again' });
      assert.deepEqual(await socket.request({ action: 'echo', data: 1, request_id: 'e2' }), reply('echo', 1, 200, 'e2'));
      releaseHeld();
      assert.deepEqual(await socket.next(), reply('wait', 'done', 200, 'again'));
      const text = await gw.gateway.metrics!.text();
      assert.equal(metric(text, `${M}limit_hits_total`, { limit: 'detached_actions' }), 4);
      assert.equal(metric(text, `${M}dcrf_actions_total`, { stream: 's', action: 'wait', status: '429' }), 4);
      socket.close();
      await socket.closed;
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.filter((name) => name === 'MaxListenersExceededWarning'),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('a streamed list waits for a reader that stopped: no slow-consumer close, and every page arrives once it reads again', async () => {
    const reader = new WebSocket(`${small.wsUrl}/ws/big/`);
    reader.on('error', () => undefined);
    await new Promise((resolve) => reader.once('open', resolve));
    let closeCode: number | undefined;
    reader.once('close', (code) => (closeCode = code));
    const pages: Array<{ request_id: unknown; data: { offset: number } }> = [];
    reader.on('message', (data) => pages.push(JSON.parse(String(data))));
    pagesRead = 0;
    reader.pause();
    reader.send(JSON.stringify({ action: 'list', request_id: 'walk' }));
    // 200 pages of 64 KiB are 12.5 MiB: more than loopback's kernel buffers hold, and 200 times the
    // 64 KiB output bound. Wait until the walk has stopped moving.
    let last = -1;
    await eventually(
      async () => {
        const now = pagesRead;
        await new Promise((resolve) => setTimeout(resolve, 200));
        const still = now > 0 && now === pagesRead && now === last;
        last = now;
        return still;
      },
      'the walk paused',
      10_000,
    );
    assert.equal(closeCode, undefined, 'the reader was not closed');
    assert.ok(pagesRead < PAGES, `${pagesRead} pages read while the client read none`);
    reader.resume();
    await eventually(() => pages.length === PAGES || closeCode !== undefined, 'every page arrived', 20_000);
    assert.equal(closeCode, undefined);
    assert.deepEqual(
      pages.map((page) => page.data.offset),
      [...Array(PAGES).keys()],
    );
    assert.ok(pages.every((page) => page.request_id === 'walk'));
    reader.close();
  });

  test('events held behind a running action count against the output bound: past it the socket is closed 1013', async () => {
    const before = metric(await small.gateway.metrics!.text(), `${M}slow_consumer_closes_total`);
    const socket = await TestSocket.open(`${small.wsUrl}/ws/s/`);
    // 32 events of 8 KiB held behind an action that has not replied: 256 KiB, four times the bound.
    socket.send({ action: 'emit_and_hold', size: 8 * 1024, count: 32, request_id: 'h' });
    const code = await Promise.race([socket.closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5000))]);
    assert.equal(code, 1013);
    assert.equal(metric(await small.gateway.metrics!.text(), `${M}slow_consumer_closes_total`), before + 1);
    releaseHeld();
  });

  test('groupSend calls declared group handlers only: an action, close() or receiveJson named by `type` is dropped', async () => {
    const logs = captureLogs('debug');
    try {
      const member = await TestSocket.open(`${gw.wsUrl}/ws/s/`);
      const sender = await TestSocket.open(`${gw.wsUrl}/ws/s/`);
      assert.deepEqual(await member.request({ action: 'join', group: 'g', request_id: 1 }), reply('join', null, 201, 1));
      for (const type of ['close', 'announce', 'receiveJson', 'join', 'constructor', 'toString']) {
        const message = { action: 'announce', group: 'other' };
        assert.equal((await sender.request({ action: 'send', group: 'g', type, message, request_id: type })).response_status, 204);
      }
      assert.equal(
        (await sender.request({ action: 'send', group: 'g', type: 'chat.message', message: { text: 'hi' }, request_id: 'ok' }))
          .response_status,
        204,
      );
      // Published in order on one topic: the first frame the member gets is the declared handler's.
      assert.deepEqual(await member.next(), { action: 'chat.message', data: 'hi' });
      assert.equal(member.closeCode, undefined);
      assert.deepEqual(await member.request({ action: 'echo', data: 'open', request_id: 2 }), reply('echo', 'open', 200, 2));
      const dropped = logs.lines.filter((line) => line.msg === 'group message with no declared handler dropped');
      assert.equal(dropped.length, 6);
      assert.ok(dropped.every((line) => line.level === 'debug'));
      member.close();
      sender.close();
    } finally {
      logs.stop();
    }
  });
});

describe('pings (item 9: PING_INTERVAL_MS)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { PING_INTERVAL_MS: '500' } });
  });
  after(async () => {
    await app.close();
  });

  test('a peer that stops answering pings is cut off with its subscriptions; one that answers stays', async () => {
    const url = `${app.wsUrl}/ws/things/`;
    const topicsBefore = metric(await scrape(app.url), `${M}pubsub_topics`);
    // A client whose peer vanished: it never answers a ping (nor sends a FIN).
    const silent = new WebSocket(url, { autoPong: false });
    silent.on('error', () => undefined);
    const silentClosed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    await new Promise((resolve) => silent.once('open', resolve));
    const subscribed = new Promise<string>((resolve) => silent.once('message', (data) => resolve(String(data))));
    silent.send(JSON.stringify({ action: 'subscribe_many', request_id: 'm' }));
    assert.deepEqual(JSON.parse(await subscribed), reply('subscribe_many', null, 201, 'm'));
    const live = await TestSocket.open(url);
    const pk = (await live.request({ action: 'create', data: { name: 'ping' }, request_id: 1 })).data.pk;
    assert.ok(metric(await scrape(app.url), `${M}pubsub_topics`) > topicsBefore);
    // Two intervals without a pong end it; ten are allowed for a loaded machine.
    const code = await Promise.race([silentClosed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5000))]);
    assert.equal(code, 1006, 'terminated without a close frame');
    await eventually(async () => metric(await scrape(app.url), `${M}pubsub_topics`) === topicsBefore, 'its subscription was dropped');
    assert.equal(app.gateway.socketCount, 1);
    // The answering socket lived through the same intervals and still works.
    assert.equal(live.closeCode, undefined);
    assert.equal((await live.request({ action: 'retrieve', pk, request_id: 2 })).response_status, 200);
    live.close();
  });
});
