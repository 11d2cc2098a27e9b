/**
 * The fan-out writer: one socket that sends stamped writes when the harness says so.
 */
import type { WebSocket } from 'ws';
import { serveCommands } from '../lib/child.js';
import { writeFrame, type WriterKind } from '../lib/events.js';
import { nowUs } from '../lib/histogram.js';
import { closeSockets, nextMessage, openSockets } from './sockets.js';

let ws: WebSocket | undefined;
let kind: WriterKind = 'dcrf';
let failures = 0;

serveCommands({
  async open(params: { url: string; kind: WriterKind }) {
    kind = params.kind;
    [ws] = await openSockets({ url: params.url, count: 1, protocols: kind === 'graphql' ? ['graphql-transport-ws'] : [] });
    if (kind === 'graphql') {
      const ack = nextMessage(ws!);
      ws!.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      if (!(await ack).includes('connection_ack')) throw new Error('no connection_ack');
    }
    // Replies to writes are read and dropped; a failed write shows up as missing deliveries.
    ws!.on('message', (data) => {
      const text = String(data);
      if (/"response_status":[45]\d\d/.test(text) || text.includes('"type":"error"') || text.includes('"errors":[{')) failures++;
    });
    return true;
  },
  write(params: { write: number }) {
    const at = nowUs();
    ws!.send(writeFrame(kind, params.write, at));
    return at;
  },
  failures() {
    return failures;
  },
  async close() {
    if (ws) await closeSockets([ws]);
    ws = undefined;
    return true;
  },
  async exit() {
    if (ws) await closeSockets([ws], 500);
  },
});
