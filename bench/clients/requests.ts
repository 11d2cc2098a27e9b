/**
 * Request/reply load: N sockets, each with one request in flight (send, await the reply, send the
 * next). Commands: `open`, `start`, `begin` (start counting), `end` (stop counting, report), `stop`.
 * Every loop is bounded: by the harness's stop, by MAX_REQUESTS per socket, and by a hard deadline.
 */
import type { WebSocket } from 'ws';
import { notify, serveCommands } from '../lib/child.js';
import { Histogram, nowUs } from '../lib/histogram.js';
import { generator, readReply, requestFrame, type Workload } from '../lib/workloads.js';
import { closeSockets, nextMessage, openSockets } from './sockets.js';

const MAX_REQUESTS_PER_SOCKET = 5_000_000;
const HARD_DEADLINE_MS = 15 * 60_000;

let sockets: WebSocket[] = [];
let workload: Workload = 'retrieve';
let checkStatus = true;
let running = false;
let counting = false;
let histogram = new Histogram();
let errors = 0;
let inFlight = 0;

setTimeout(() => {
  notify({ type: 'log', message: 'request client passed its hard deadline; exiting' });
  process.exit(2);
}, HARD_DEADLINE_MS).unref();

function drive(ws: WebSocket, index: number): void {
  const random = generator(index + 1);
  let seq = 0;
  let sentAt = 0;
  const send = () => {
    if (!running || seq >= MAX_REQUESTS_PER_SOCKET) return;
    seq++;
    sentAt = nowUs();
    inFlight++;
    ws.send(requestFrame(workload, seq, random, index));
  };
  ws.on('message', (data) => {
    const verdict = readReply(workload, String(data), checkStatus);
    if (verdict === 'partial') return;
    inFlight--;
    if (counting) {
      if (verdict === 'error') errors++;
      histogram.record(nowUs() - sentAt);
    }
    send();
  });
  send();
}

serveCommands({
  async open(params: { url: string; sockets: number; localAddress?: string; workload: Workload; checkStatus: boolean }) {
    workload = params.workload;
    checkStatus = params.checkStatus;
    const graphql = workload === 'graphql-query';
    sockets = await openSockets({
      url: params.url,
      count: params.sockets,
      localAddress: params.localAddress,
      protocols: graphql ? ['graphql-transport-ws'] : [],
      prepare: graphql
        ? async (ws) => {
            const ack = nextMessage(ws);
            ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
            if (!(await ack).includes('connection_ack')) throw new Error('no connection_ack');
          }
        : undefined,
    });
    return sockets.length;
  },
  start() {
    running = true;
    sockets.forEach(drive);
    return true;
  },
  begin() {
    histogram = new Histogram();
    errors = 0;
    counting = true;
    return nowUs();
  },
  end() {
    counting = false;
    return { at: nowUs(), ops: histogram.total, errors, histogram: histogram.toJSON() };
  },
  async stop() {
    running = false;
    const deadline = Date.now() + 3000;
    while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await closeSockets(sockets);
    sockets = [];
    return true;
  },
  async exit() {
    running = false;
    await closeSockets(sockets, 1000);
  },
});
