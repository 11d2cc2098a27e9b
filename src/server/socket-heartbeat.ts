/**
 * WebSocket-level liveness for many sockets on one timer: every `intervalMs` each watched socket is
 * pinged, and one that has not answered the previous ping by then is terminated (its close then
 * releases what it held). A peer gone without a FIN is cut off between one and two intervals after
 * its last pong.
 *
 * One timer and two shared listener functions for all sockets, where a timer of its own and three
 * closures per socket made an idle socket about half a kilobyte heavier.
 */
import type { WebSocket } from 'ws';

/** Sockets pinged and not answered since. */
const unanswered = new WeakSet<WebSocket>();
/** The heartbeat watching each socket. */
const watchers = new WeakMap<WebSocket, SocketHeartbeat>();

function onPong(this: WebSocket): void {
  unanswered.delete(this);
}

function onClose(this: WebSocket): void {
  watchers.get(this)?.forget(this);
}

export class SocketHeartbeat {
  private readonly sockets = new Set<WebSocket>();
  private timer: NodeJS.Timeout | undefined;

  /** `intervalMs` ≤ 0 or not finite: no pings. */
  constructor(private readonly intervalMs: number) {}

  /** Pings `ws` with the others until it closes. */
  watch(ws: WebSocket): void {
    if (!(this.intervalMs > 0) || !Number.isFinite(this.intervalMs)) return;
    this.sockets.add(ws);
    watchers.set(ws, this);
    ws.on('pong', onPong);
    ws.once('close', onClose);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Stops watching `ws` (it closed); the timer stops with the last socket. */
  forget(ws: WebSocket): void {
    this.sockets.delete(ws);
    watchers.delete(ws);
    ws.off('pong', onPong);
    if (this.sockets.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    for (const ws of this.sockets) {
      if (ws.readyState !== ws.OPEN) continue;
      if (unanswered.has(ws)) {
        ws.terminate();
        continue;
      }
      unanswered.add(ws);
      ws.ping();
    }
  }
}
