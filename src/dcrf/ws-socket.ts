/**
 * The `ws` package behind the DCRF session. A `ws` WebSocket has the `DcrfSocket` shape as it is, so
 * the adapter is this typed identity: no object per socket and no extra call per frame stand between
 * them, and a change in `ws`'s API fails to compile here.
 */
import type { WebSocket } from 'ws';
import type { DcrfSocket } from './socket.js';

/** A `ws` WebSocket as the socket of a DCRF session (its own `send`: the gateway's metrics count frames there). */
export function wsSocket(ws: WebSocket): DcrfSocket {
  return ws;
}
