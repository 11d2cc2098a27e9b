/**
 * WebSocket-level liveness for many sockets on one timer: every `intervalMs` each watched socket is
 * pinged, and one from which nothing (no pong, no frame) has arrived since the previous ping is
 * terminated (its close then releases what it held). A peer gone without a FIN is cut off between one
 * and two intervals after the last bytes it sent.
 *
 * One timer for all sockets and no listener per socket: whether a socket answered is read from the
 * count of bytes its connection received, where a `pong` listener would give each socket's event
 * table one more entry (a timer of its own and three closures per socket once made an idle socket
 * about half a kilobyte heavier). The owner of the sockets calls `forget` when one closes (the
 * gateway's close listener), so the heartbeat adds no close listener either.
 */
import type { WebSocket } from 'ws';

/** The part of `ws`'s WebSocket the heartbeat reads: its connection (`ws` keeps it as `_socket`). */
interface WithConnection {
  _socket?: { bytesRead: number } | null;
}

/** A watched socket not pinged yet. */
const NOT_PINGED = -1;

/** Bytes the connection of `ws` has received; NaN when `ws` holds none (never equal: never cut off for it). */
function bytesReceived(ws: WebSocket): number {
  return (ws as unknown as WithConnection)._socket?.bytesRead ?? Number.NaN;
}

export class SocketHeartbeat {
  /** Each watched socket, with the bytes its connection had received when it was last pinged. */
  private readonly sockets = new Map<WebSocket, number>();
  private timer: NodeJS.Timeout | undefined;

  /** `intervalMs` ≤ 0 or not finite: no pings. */
  constructor(private readonly intervalMs: number) {}

  /** Pings `ws` with the others until `forget(ws)` (call it when the socket closes). */
  watch(ws: WebSocket): void {
    if (!(this.intervalMs > 0) || !Number.isFinite(this.intervalMs)) return;
    this.sockets.set(ws, NOT_PINGED);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Stops watching `ws` (it closed; a socket never watched is ignored); the timer stops with the last socket. */
  forget(ws: WebSocket): void {
    if (!this.sockets.delete(ws)) return;
    if (this.sockets.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    for (const [ws, atPing] of this.sockets) {
      if (ws.readyState !== ws.OPEN) continue;
      const received = bytesReceived(ws);
      // Nothing since the last ping, not even its pong: the peer is gone.
      if (atPing !== NOT_PINGED && received === atPing) {
        ws.terminate();
        continue;
      }
      this.sockets.set(ws, received);
      ws.ping();
    }
  }
}
