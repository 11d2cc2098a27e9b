/**
 * Many subscribed (or idle) sockets in one process. Commands: `open` (connect and subscribe),
 * `begin`/`end` (count deliveries and their write→delivery latency), `close`. Tells the harness
 * `{type: 'delivered', write}` once every one of its sockets has received a write.
 */
import type { WebSocket } from 'ws';
import { notify, serveCommands } from '../lib/child.js';
import { readStamp, THING_CHANGED, WATCHED_PK, type Subscription } from '../lib/events.js';
import { Histogram, nowUs } from '../lib/histogram.js';
import { closeSockets, nextMessage, openSockets } from './sockets.js';

const HARD_DEADLINE_MS = 5 * 60_000;
setTimeout(() => process.exit(2), HARD_DEADLINE_MS).unref();

let sockets: WebSocket[] = [];
let histogram = new Histogram();
let counting = false;
const received = new Map<number, number>();

function onDelivery(text: string): void {
  const stamp = readStamp(text);
  if (!stamp) return;
  if (counting) histogram.record(nowUs() - stamp.atUs);
  const count = (received.get(stamp.write) ?? 0) + 1;
  if (count >= sockets.length) {
    received.delete(stamp.write);
    notify({ type: 'delivered', write: stamp.write });
  } else received.set(stamp.write, count);
}

async function subscribe(ws: WebSocket, index: number, subscription: Subscription): Promise<void> {
  if (subscription === 'dcrf-instance') {
    const reply = nextMessage(ws);
    ws.send(JSON.stringify({ action: 'subscribe_instance', pk: WATCHED_PK, request_id: index + 1 }));
    const text = await reply;
    if (!text.includes('"response_status":201')) throw new Error(`subscribe_instance refused: ${text.slice(0, 200)}`);
  } else if (subscription === 'graphql-thing') {
    const ack = nextMessage(ws);
    ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    if (!(await ack).includes('connection_ack')) throw new Error('no connection_ack');
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: THING_CHANGED, variables: { id: String(WATCHED_PK) } } }));
  }
  ws.on('message', (data) => onDelivery(String(data)));
}

serveCommands({
  async open(params: { url: string; sockets: number; localAddress?: string; subscription: Subscription; protocols?: string[] }) {
    const opened = await openSockets({
      url: params.url,
      count: params.sockets,
      localAddress: params.localAddress,
      protocols: params.protocols ?? (params.subscription === 'graphql-thing' ? ['graphql-transport-ws'] : []),
      timeoutMs: 120_000,
      prepare: (ws, index) => subscribe(ws, index, params.subscription),
    });
    sockets = sockets.concat(opened);
    return sockets.length;
  },
  begin() {
    histogram = new Histogram();
    counting = true;
    return true;
  },
  end() {
    counting = false;
    return { deliveries: histogram.total, histogram: histogram.toJSON() };
  },
  async close() {
    await closeSockets(sockets);
    sockets = [];
    received.clear();
    return true;
  },
  async exit() {
    await closeSockets(sockets, 1000);
  },
});
