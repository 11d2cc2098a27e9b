/**
 * Many sockets in one process, idle or subscribed. Commands: `open` (connect, optionally subscribe),
 * `subscribe` (subscribe sockets already open), `begin`/`end` (count deliveries and their
 * write→delivery latency), `close`. Tells the harness `{type: 'delivered', write}` once every
 * subscribed socket of this process has received a write.
 */
import type { WebSocket } from 'ws';
import { notify, serveCommands } from '../lib/child.js';
import { readStamp, THING_CHANGED, WATCHED_PK, type Subscription } from '../lib/events.js';
import { Histogram, nowUs } from '../lib/histogram.js';
import { closeSockets, nextMessage, openSockets } from './sockets.js';

const HARD_DEADLINE_MS = 15 * 60_000;
setTimeout(() => process.exit(2), HARD_DEADLINE_MS).unref();

let sockets: WebSocket[] = [];
let subscribed = 0;
let histogram = new Histogram();
let counting = false;
const received = new Map<number, number>();

function onDelivery(text: string): void {
  const stamp = readStamp(text);
  if (!stamp) return;
  if (counting) histogram.record(nowUs() - stamp.atUs);
  const count = (received.get(stamp.write) ?? 0) + 1;
  if (count >= subscribed) {
    received.delete(stamp.write);
    notify({ type: 'delivered', write: stamp.write });
  } else received.set(stamp.write, count);
}

async function subscribe(ws: WebSocket, index: number, subscription: Subscription): Promise<void> {
  if (subscription === 'none') return;
  if (subscription === 'dcrf-instance' || subscription === 'raw') {
    const reply = nextMessage(ws, 30_000);
    ws.send(
      subscription === 'raw'
        ? '{"action":"subscribe"}'
        : JSON.stringify({ action: 'subscribe_instance', pk: WATCHED_PK, request_id: index + 1 }),
    );
    const text = await reply;
    if (!text.includes('"response_status":201')) throw new Error(`subscribe refused: ${text.slice(0, 200)}`);
  } else {
    const ack = nextMessage(ws, 30_000);
    ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    if (!(await ack).includes('connection_ack')) throw new Error('no connection_ack');
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: THING_CHANGED, variables: { id: String(WATCHED_PK) } } }));
  }
  subscribed++;
  ws.on('message', (data) => onDelivery(String(data)));
}

serveCommands({
  async open(params: { url: string; sockets: number; localAddress?: string; subscription: Subscription; protocols?: string[] }) {
    const first = sockets.length;
    const opened = await openSockets({
      url: params.url,
      count: params.sockets,
      localAddress: params.localAddress,
      protocols: params.protocols ?? (params.subscription === 'graphql-thing' ? ['graphql-transport-ws'] : []),
      timeoutMs: 240_000,
      prepare: (ws, index) => subscribe(ws, first + index, params.subscription),
    });
    sockets = sockets.concat(opened);
    return sockets.length;
  },
  /** Subscribes the next `count` open sockets that are not subscribed yet. */
  async subscribe(params: { count: number; subscription: Subscription }) {
    const from = subscribed;
    const to = Math.min(sockets.length, from + params.count);
    let next = from;
    const worker = async () => {
      while (next < to) {
        const index = next++;
        await subscribe(sockets[index]!, index, params.subscription);
      }
    };
    await Promise.all(Array.from({ length: Math.min(64, to - from) }, worker));
    return subscribed;
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
    subscribed = 0;
    received.clear();
    return true;
  },
  async exit() {
    await closeSockets(sockets, 1000);
  },
});
