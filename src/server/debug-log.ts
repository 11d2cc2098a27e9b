/**
 * The gateway's `debug` records: why an upgrade was refused (Host, Origin, socket caps, subprotocol,
 * token, permission), how each socket closed (its code and reason), slow consumers and every limit
 * hit. Each is one record with what an operator needs to find the client, and never a token: paths
 * are logged without their query string. Built only when debug is on.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { SessionObserver } from '../dcrf/session.js';
import { logger } from '../logger.js';

/** Logs a refused upgrade: its HTTP status, the reason, the limit when one refused it, and who asked. */
export function logRefusedUpgrade(request: IncomingMessage | undefined, status: number, reason: string, limit?: string): void {
  if (!logger.enabled('debug')) return;
  const headers = request?.headers ?? {};
  logger.debug('upgrade refused', {
    status,
    reason,
    ...(limit ? { limit } : {}),
    path: pathOf(request?.url),
    ip: request?.socket.remoteAddress,
    host: headers.host,
    origin: headers.origin,
    subprotocols: headers['sec-websocket-protocol'],
  });
}

/** The first close a socket was asked for: by the server (a limit, a policy, a shutdown), or the echo of the client's. */
export interface CloseAsked {
  code?: number;
  reason?: string | Buffer;
}

/**
 * Remembers the first code and reason `ws.close` is called with. The close event only tells what came
 * back (1006 when the server closed a socket with 1009 and ended it at once), so a record of the code
 * the server sent needs this. Installed only while debug is on: it costs a closure per socket.
 */
export function watchClose(ws: WebSocket): () => CloseAsked | undefined {
  let asked: CloseAsked | undefined;
  const close = ws.close;
  ws.close = function (this: WebSocket, code?: number, reason?: string | Buffer) {
    asked ??= { code, reason };
    return close.call(this, code, reason);
  } as WebSocket['close'];
  return () => asked;
}

/**
 * Logs a socket's close: the protocol it spoke, the close code and reason (those the server sent or
 * echoed when known, else what the close event reported), the client's address.
 */
export function logSocketClosed(protocol: string, ip: string, code: number, reason: Buffer | string, asked?: CloseAsked): void {
  if (!logger.enabled('debug')) return;
  const sent = asked?.code !== undefined ? asked : undefined;
  logger.debug('socket closed', { protocol, code: sent?.code ?? code, reason: String(sent ? (sent.reason ?? '') : reason), ip });
}

/** Logs a limit that refused something (a frame, a subscription, a socket, a GraphQL document). */
export function logLimitHit(limit: string): void {
  if (logger.enabled('debug')) logger.debug('limit hit', { limit });
}

/** A session observer that logs the limits DCRF sessions and GraphQL sockets hit, and slow consumers. */
export const limitLogObserver: SessionObserver = {
  throttled: () => logLimitHit('rate'),
  slowConsumerClosed: () => {
    if (logger.enabled('debug')) logger.debug('slow consumer closed', { limit: 'slow_consumer' });
  },
  limitHit: logLimitHit,
};

/** A request's path without its query (where tokens may travel). */
function pathOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
