/**
 * One DCRF socket from the browser: `/ws` (multiplexed, frames wrapped as `{stream, payload}`) or
 * `/ws/<stream>` (bare frames). Browsers cannot set headers on a WebSocket, so the token goes in the
 * `token` query parameter, which the gateway reads.
 */

export type ConnectionMode = 'multiplex' | 'single';

export interface ConnectionTarget {
  mode: ConnectionMode;
  /** The stream of a single-stream socket. */
  stream?: string;
  token?: string;
}

export interface ConnectionHandlers {
  open(): void;
  /** A frame, unwrapped: `stream` is the envelope's (multiplexed) or the socket's stream. */
  frame(stream: string | null, payload: unknown): void;
  /** Text that is not JSON (never sent by a well-behaved gateway; shown as is). */
  text(data: string): void;
  close(code: number, reason: string, wasOpen: boolean): void;
}

/** The socket URL for a target, relative to the page's host. */
export function socketUrl(target: ConnectionTarget, location: { protocol: string; host: string }): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const path = target.mode === 'single' ? `/ws/${encodeURIComponent(target.stream ?? '')}` : '/ws';
  const query = target.token ? `?token=${encodeURIComponent(target.token)}` : '';
  return `${scheme}//${location.host}${path}${query}`;
}

export class DcrfConnection {
  private readonly socket: WebSocket;
  private opened = false;

  constructor(
    readonly target: ConnectionTarget,
    url: string,
    handlers: ConnectionHandlers,
  ) {
    this.socket = new WebSocket(url);
    this.socket.addEventListener('open', () => {
      this.opened = true;
      handlers.open();
    });
    this.socket.addEventListener('message', (event) => {
      const data = String(event.data);
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        handlers.text(data);
        return;
      }
      if (target.mode === 'single') return handlers.frame(target.stream ?? null, parsed);
      const envelope = parsed as { stream?: unknown; payload?: unknown } | null;
      const stream = typeof envelope?.stream === 'string' ? envelope.stream : null;
      handlers.frame(stream, envelope && 'payload' in envelope ? envelope.payload : parsed);
    });
    this.socket.addEventListener('close', (event) => handlers.close(event.code, event.reason, this.opened));
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Sends one DCRF frame on `stream`, wrapped when the socket is multiplexed. */
  send(stream: string, payload: unknown): void {
    const frame = this.target.mode === 'multiplex' ? { stream, payload } : payload;
    this.socket.send(JSON.stringify(frame));
  }

  close(): void {
    this.socket.close(1000, 'Closed from the playground');
  }
}
