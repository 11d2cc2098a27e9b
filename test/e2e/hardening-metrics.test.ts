/**
 * GET /metrics: Prometheus text with sockets open by protocol, frames in and out, DCRF actions by
 * name and status, events published and delivered; each gateway has a registry of its own.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { eventually, metric, scrape } from '../helpers/hardening.js';

const M = 'dcrf_gateway_';
let app: TestApp;
let other: TestApp;
before(async () => {
  // The app started last owns the process's change hub (models publish to the current one).
  other = await startTestApp();
  app = await startTestApp();
});
after(async () => {
  await Promise.all([app.close(), other.close()]);
});

test('counts sockets by protocol, frames, actions by name and status, and events', async () => {
  const response = await fetch(`${app.url}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  await response.text();

  const writer = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const watcher = await TestSocket.open(`${app.wsUrl}/ws`);
  const graphql = new WebSocket(`${app.wsUrl}/graphql`, ['graphql-transport-ws']);
  await new Promise((resolve, reject) => graphql.once('open', resolve).once('error', reject));

  const row = (await writer.request({ action: 'create', data: { name: 'metered' }, request_id: 1 })).data;
  await watcher.request({ stream: 'things', payload: { action: 'subscribe_instance', pk: row.pk, request_id: 's' } });
  await writer.request({ action: 'patch', pk: row.pk, data: { counter: 1 }, request_id: 2 });
  await watcher.next();
  await writer.request({ action: 'retrieve', pk: 424242, request_id: 3 });
  await writer.request({ action: 'no_such_action', request_id: 4 });
  await writer.request({ request_id: 5 });

  const text = await scrape(app.url);
  assert.equal(metric(text, `${M}sockets_open`, { protocol: 'dcrf' }), 2);
  assert.equal(metric(text, `${M}sockets_open`, { protocol: 'graphql-transport-ws' }), 1);
  assert.equal(metric(text, `${M}frames_in_total`, { protocol: 'dcrf' }), 6);
  assert.equal(metric(text, `${M}frames_out_total`, { protocol: 'dcrf' }), 7);
  const actions = (action: string, status: string, stream = 'things') => metric(text, `${M}dcrf_actions_total`, { stream, action, status });
  assert.equal(actions('create', '201'), 1);
  assert.equal(actions('subscribe_instance', '201'), 1);
  assert.equal(actions('patch', '200'), 1);
  assert.equal(actions('retrieve', '404'), 1);
  assert.equal(actions('<unknown>', '405'), 2, 'client-chosen names are not labels');
  assert.ok(!text.includes('no_such_action'));
  // things are captured by the database: every process reads their changes from the log, nothing is published.
  assert.match(text, new RegExp(`^${M}events_published_total \\d+$`, 'm'));
  assert.ok(metric(text, `${M}events_delivered_total`) >= 1);
  assert.match(text, new RegExp(`^${M}slow_consumer_closes_total 0$`, 'm'));

  // The other app's registry saw none of this.
  const otherText = await scrape(other.url);
  assert.equal(metric(otherText, `${M}frames_in_total`, { protocol: 'dcrf' }), 0);
  assert.equal(metric(otherText, `${M}events_published_total`), 0);

  for (const socket of [writer, watcher]) socket.close();
  graphql.close();
  await eventually(async () => metric(await scrape(app.url), `${M}sockets_open`, { protocol: 'dcrf' }) === 0, 'sockets_open back to 0');
  assert.equal(metric(await scrape(app.url), `${M}sockets_open`, { protocol: 'graphql-transport-ws' }), 0);
});

test('GraphQL frames are counted, subscription events included', async () => {
  const writer = await TestSocket.open(`${app.wsUrl}/ws/things/`);
  const row = (await writer.request({ action: 'create', data: { name: 'metered events' }, request_id: 1 })).data;
  const before = metric(await scrape(app.url), `${M}frames_out_total`, { protocol: 'graphql-transport-ws' });
  const graphql = new WebSocket(`${app.wsUrl}/graphql`, ['graphql-transport-ws']);
  const received: Array<{ type: string; payload?: any }> = [];
  graphql.on('message', (data) => received.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => graphql.once('open', resolve).once('error', reject));
  graphql.send(JSON.stringify({ type: 'connection_init' }));
  await eventually(() => received.some((message) => message.type === 'connection_ack'), 'connection_ack');
  const query = `subscription ($id: ID!) { thingChanged(id: $id) { action data { id counter } } }`;
  graphql.send(JSON.stringify({ id: 'm', type: 'subscribe', payload: { query, variables: { id: String(row.pk) } } }));
  // graphql-transport-ws does not acknowledge a subscribe: patch until the subscription sees one.
  let counter = 0;
  await eventually(async () => {
    await writer.request({ action: 'patch', pk: row.pk, data: { counter: ++counter }, request_id: 2 + counter });
    return received.some((message) => message.type === 'next');
  }, 'a subscription event');
  await writer.request({ action: 'patch', pk: row.pk, data: { counter: ++counter }, request_id: 2 + counter });
  await eventually(() => received.filter((message) => message.type === 'next').length >= 2, 'a second event');
  const sent = received.length;
  assert.equal(metric(await scrape(app.url), `${M}frames_out_total`, { protocol: 'graphql-transport-ws' }) - before, sent);
  writer.close();
  graphql.close();
});

test('PubSub reconnects are counted', {
  skip: process.env.TEST_REDIS_URL ? false : 'needs Redis: runs in the PostgreSQL + Redis pass',
}, async () => {
  const { Redis } = await import('ioredis');
  const admin = new Redis(process.env.TEST_REDIS_URL!);
  try {
    // Cut this app's subscriber connection from the Redis side, as a Redis restart or a network cut would.
    const name = `${app.hub.hub.prefix}sub`;
    const clients = String(await admin.client('LIST'))
      .split('\n')
      .filter((line) => line.includes(` name=${name} `));
    assert.equal(clients.length, 1, `one subscriber connection named ${name}`);
    await admin.client('KILL', 'ID', /\bid=(\d+)/.exec(clients[0]!)![1]!);
    await eventually(
      async () => metric(await scrape(app.url), `${M}pubsub_reconnects_total`, { client: 'subscriber' }) >= 1,
      'the reconnect was counted',
    );
    assert.equal(metric(await scrape(other.url), `${M}pubsub_reconnects_total`, { client: 'subscriber' }), 0);
  } finally {
    admin.disconnect();
  }
});
