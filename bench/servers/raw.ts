/**
 * The baselines: the least a `ws` server can do for each case, with nothing of ours in the way.
 *   echo       sends every frame back (the ceiling for request/reply)
 *   sqlite     a hand-written DCRF-shaped server: JSON.parse, prepared better-sqlite3 statements, a
 *              reply in the DCRF envelope (retrieve, list, patch on `things`); a patch is a lookup
 *              (404 if missing), the UPDATE and the read-back of the row in one transaction
 *   pg         the same over `pg` (a pool of 10, named prepared statements; a patch is BEGIN, lookup,
 *              UPDATE, read-back, COMMIT on one connection); with REDIS_URL, also the scale-out
 *              baseline: `{"action":"subscribe"}` as in broadcast, and each patch's event published
 *              to Redis (REDIS_PREFIX) and sent by every process to its subscribed sockets
 *   broadcast  `{"action":"subscribe"}` adds a socket to a set (answered 201); any other frame is sent
 *              to every subscribed socket (the fan-out ceiling, and the idle-socket baseline)
 *   broadcast-own-frames  the same, but each subscriber gets a frame of its own (`{"id":"<its id>",`
 *              and the frame's other members, as a GraphQL `next` names its operation), sent with a
 *              write callback that counts its unflushed frames (what a server bounding each
 *              subscriber's unsent output keeps): the ceiling of a server with per-subscriber frames
 * Usage: raw.ts <mode>
 */
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveCommands } from '../lib/child.js';
import { usageCommands } from './usage.js';
import { openThingsDb } from './things-db.js';
import { openThingsPg } from './things-pg.js';
import { Redis } from 'ioredis';

const mode = process.argv[2] ?? 'echo';
const server = http.createServer((_request, response) => response.writeHead(404).end());
const wss = new WebSocketServer({ server, perMessageDeflate: false });
let cleanup: () => void | Promise<void> = () => {};

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
} else if (mode === 'broadcast-own-frames') {
  const subscribers = new Map<WebSocket, { id: string; unflushed: number; flushed: () => void }>();
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"action":"subscribe"')) {
        const subscriber = {
          id: JSON.stringify(String(subscribers.size + 1)),
          unflushed: 0,
          flushed: () => {
            subscriber.unflushed--;
          },
        };
        subscribers.set(ws, subscriber);
        ws.once('close', () => subscribers.delete(ws));
        ws.send('{"response_status":201}');
        return;
      }
      const members = text.slice(1);
      for (const [client, subscriber] of subscribers) {
        if (client === ws) continue;
        subscriber.unflushed++;
        client.send(`{"id":${subscriber.id},${members}`, subscriber.flushed);
      }
    });
  });
} else if (mode === 'sqlite') {
  cleanup = sqliteServer();
} else if (mode === 'pg') {
  cleanup = await pgServer();
} else {
  throw new Error(`unknown mode ${mode}`);
}

function sqliteServer(): () => void {
  const things = openThingsDb('dcrf-bench-raw-');
  const db = things.db;
  const byId = db.prepare('SELECT id AS pk, name, counter FROM things WHERE id = ?');
  const all = db.prepare('SELECT id AS pk, name, counter FROM things ORDER BY id');
  const patchRow = db.prepare('UPDATE things SET name = coalesce(?, name), counter = coalesce(?, counter) WHERE id = ?');
  // What a DCRF patch promises: 404 for a missing row, the row as the write left it, all in one transaction.
  const patch = db.transaction((pk: unknown, data: PatchData) => {
    if (!byId.get(pk)) return undefined;
    patchRow.run(data.name ?? null, data.counter ?? null, pk);
    return byId.get(pk);
  });
  const answer = (ws: WebSocket, text: string) => {
    const request = JSON.parse(text) as Request;
    if (request.action === 'retrieve') {
      const row = byId.get(request.pk);
      ws.send(row ? envelope(row, 'retrieve', 200, request.request_id) : envelope(null, 'retrieve', 404, request.request_id));
    } else if (request.action === 'list') {
      ws.send(envelope(all.all(), 'list', 200, request.request_id));
    } else if (request.action === 'patch') {
      const row = patch(request.pk, request.data ?? {});
      ws.send(row ? envelope(row, 'patch', 200, request.request_id) : envelope(null, 'patch', 404, request.request_id));
    } else ws.send(envelope(null, request.action, 405, request.request_id));
  };
  wss.on('connection', (ws) => ws.on('message', (data) => answer(ws, data.toString())));
  return () => things.close();
}

interface PatchData {
  name?: string;
  counter?: number;
}

interface Request {
  action: string;
  pk?: number;
  request_id?: unknown;
  data?: PatchData;
}

function envelope(data: unknown, action: unknown, status: number, requestId: unknown): string {
  return JSON.stringify({ errors: [], data, action, response_status: status, request_id: requestId });
}

async function pgServer(): Promise<() => Promise<void>> {
  const things = await openThingsPg();
  const pool = things.pool;
  const byId = (pk: unknown) => ({ name: 'thing-by-id', text: 'SELECT id AS pk, name, counter FROM things WHERE id = $1', values: [pk] });
  const all = { name: 'things-all', text: 'SELECT id AS pk, name, counter FROM things ORDER BY id' };
  const patchRow = (pk: unknown, data: PatchData) => ({
    name: 'thing-patch',
    text: 'UPDATE things SET name = coalesce($1, name), counter = coalesce($2, counter) WHERE id = $3',
    values: [data.name ?? null, data.counter ?? null, pk],
  });
  const patch = async (pk: unknown, data: PatchData) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      if (!(await client.query(byId(pk))).rows[0]) {
        await client.query('ROLLBACK');
        return undefined;
      }
      await client.query(patchRow(pk, data));
      const row = (await client.query(byId(pk))).rows[0];
      await client.query('COMMIT');
      return row;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
  // Scale-out: every process subscribes to one channel and relays each published event to its sockets.
  const subscribers = new Set<WebSocket>();
  const channel = `${process.env.REDIS_PREFIX ?? ''}things`;
  const publisher = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined;
  const listener = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined;
  if (listener) {
    await listener.subscribe(channel);
    listener.on('message', (_channel, text: string) => {
      for (const client of subscribers) client.send(text);
    });
  }
  const answer = async (ws: WebSocket, text: string) => {
    if (text.startsWith('{"action":"subscribe"')) {
      subscribers.add(ws);
      ws.once('close', () => subscribers.delete(ws));
      ws.send('{"response_status":201}');
      return;
    }
    const request = JSON.parse(text) as Request;
    if (request.action === 'retrieve') {
      const row = (await pool.query(byId(request.pk))).rows[0];
      ws.send(row ? envelope(row, 'retrieve', 200, request.request_id) : envelope(null, 'retrieve', 404, request.request_id));
    } else if (request.action === 'list') {
      ws.send(envelope((await pool.query(all)).rows, 'list', 200, request.request_id));
    } else if (request.action === 'patch') {
      const row = await patch(request.pk, request.data ?? {});
      ws.send(row ? envelope(row, 'patch', 200, request.request_id) : envelope(null, 'patch', 404, request.request_id));
      if (row && publisher) await publisher.publish(channel, envelope(row, 'update', 200, 0));
    } else ws.send(envelope(null, request.action, 405, request.request_id));
  };
  wss.on('connection', (ws) =>
    ws.on('message', (data) => {
      answer(ws, data.toString()).catch((error) => ws.send(envelope(String(error), 'error', 500, null)));
    }),
  );
  return async () => {
    publisher?.disconnect();
    listener?.disconnect();
    await things.close();
  };
}

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
serveCommands(
  {
    ...usageCommands,
    async exit() {
      for (const ws of wss.clients) ws.terminate();
      await cleanup();
    },
  },
  { port: typeof address === 'object' && address ? address.port : 0 },
);
