/**
 * The baselines: the least a `ws` server can do for each case, with nothing of ours in the way.
 *   echo       sends every frame back (the ceiling for request/reply)
 *   sqlite     a hand-written DCRF-shaped server: JSON.parse, one prepared better-sqlite3 statement,
 *              a reply in the DCRF envelope (retrieve, list, patch on `things`)
 *   broadcast  `{"action":"subscribe"}` adds a socket to a set (answered 201); any other frame is sent
 *              to every subscribed socket (the fan-out ceiling, and the idle-socket baseline)
 * Usage: raw.ts <mode>
 */
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveCommands } from '../lib/child.js';
import { usageCommands } from './usage.js';
import { openThingsDb } from './things-db.js';

const mode = process.argv[2] ?? 'echo';
const server = http.createServer((_request, response) => response.writeHead(404).end());
const wss = new WebSocketServer({ server, perMessageDeflate: false });
let cleanup = () => {};

if (mode === 'echo') {
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
} else if (mode === 'broadcast') {
  // The least a pub/sub server does: a set of subscribed sockets, and each published frame sent to all.
  const subscribers = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"action":"subscribe"')) {
        subscribers.add(ws);
        ws.once('close', () => subscribers.delete(ws));
        ws.send('{"response_status":201}');
        return;
      }
      // Sent as text frames, the way a server relays a JSON event.
      for (const client of subscribers) if (client !== ws) client.send(text);
    });
  });
} else if (mode === 'sqlite') {
  cleanup = sqliteServer();
} else {
  throw new Error(`unknown mode ${mode}`);
}

function sqliteServer(): () => void {
  const things = openThingsDb('dcrf-bench-raw-');
  const db = things.db;
  const byId = db.prepare('SELECT id AS pk, name, counter FROM things WHERE id = ?');
  const all = db.prepare('SELECT id AS pk, name, counter FROM things ORDER BY id');
  const patchCounter = db.prepare('UPDATE things SET counter = ? WHERE id = ?');
  const envelope = (data: unknown, action: unknown, status: number, requestId: unknown) =>
    JSON.stringify({ errors: [], data, action, response_status: status, request_id: requestId });
  const answer = (ws: WebSocket, text: string) => {
    const request = JSON.parse(text) as { action: string; pk?: number; request_id?: unknown; data?: { counter?: number } };
    if (request.action === 'retrieve') {
      const row = byId.get(request.pk);
      ws.send(row ? envelope(row, 'retrieve', 200, request.request_id) : envelope(null, 'retrieve', 404, request.request_id));
    } else if (request.action === 'list') {
      ws.send(envelope(all.all(), 'list', 200, request.request_id));
    } else if (request.action === 'patch') {
      patchCounter.run(request.data?.counter ?? 0, request.pk);
      ws.send(envelope(byId.get(request.pk), 'patch', 200, request.request_id));
    } else ws.send(envelope(null, request.action, 405, request.request_id));
  };
  wss.on('connection', (ws) => ws.on('message', (data) => answer(ws, data.toString())));
  return () => things.close();
}

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
serveCommands(
  {
    ...usageCommands,
    exit() {
      for (const ws of wss.clients) ws.terminate();
      cleanup();
    },
  },
  { port: typeof address === 'object' && address ? address.port : 0 },
);
