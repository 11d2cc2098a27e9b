/**
 * Opening many client sockets from one benchmark process: bounded concurrency (the server's accept
 * backlog is finite), a time limit, and a spread over loopback source addresses so repeated runs do
 * not exhaust one address's ephemeral ports.
 */
import { WebSocket } from 'ws';

export interface OpenOptions {
  url: string;
  count: number;
  /** Subprotocols to offer (graphql-transport-ws for GraphQL). */
  protocols?: string[];
  /** Loopback source address, e.g. 127.0.0.2. */
  localAddress?: string;
  /** Connections in flight at once. */
  concurrency?: number;
  timeoutMs?: number;
  /** Called on each socket once open, before the next is counted (e.g. to subscribe). */
  prepare?: (ws: WebSocket, index: number) => Promise<void>;
}

/** Opens `count` sockets; rejects if any fails or the whole takes longer than `timeoutMs`. */
export async function openSockets(options: OpenOptions): Promise<WebSocket[]> {
  const sockets: WebSocket[] = new Array(options.count);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let next = 0;
  const openOne = (index: number) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(options.url, options.protocols ?? [], {
        perMessageDeflate: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      });
      const timer = setTimeout(() => reject(new Error(`socket ${index} did not open in time`)), Math.max(1, deadline - Date.now()));
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(ws);
      });
      ws.once('unexpected-response', (_request, response) => {
        clearTimeout(timer);
        reject(new Error(`upgrade refused: HTTP ${response.statusCode}`));
      });
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  const worker = async () => {
    while (next < options.count) {
      const index = next++;
      const ws = await openOne(index);
      ws.on('error', () => undefined);
      sockets[index] = ws;
      if (options.prepare) await options.prepare(ws, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 64, options.count) }, worker));
  return sockets;
}

/** Resolves with the next text message of a socket, or rejects after `timeoutMs`. */
export function nextMessage(ws: WebSocket, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.off('message', onMessage);
      reject(new Error(`no message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (data: unknown) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve(String(data));
    };
    ws.on('message', onMessage);
  });
}

/** Closes every socket and waits (bounded) for the closes to finish. */
export async function closeSockets(sockets: readonly (WebSocket | undefined)[], timeoutMs = 3000): Promise<void> {
  const open = sockets.filter((ws): ws is WebSocket => Boolean(ws) && ws!.readyState !== WebSocket.CLOSED);
  const closed = Promise.all(
    open.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close();
        }),
    ),
  );
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  for (const ws of open) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
}
