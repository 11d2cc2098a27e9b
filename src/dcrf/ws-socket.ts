/**
 * `DcrfSocket` over a `ws` WebSocket: the one place the DCRF session meets the `ws` package.
 */
import type { RawData, WebSocket } from 'ws';
import type { DcrfSocket, SocketListener } from './socket.js';

export class WsSocket implements DcrfSocket {
  constructor(readonly ws: WebSocket) {}

  send(text: string, onSent?: () => void): void {
    // Through the instance's `send`: the gateway's metrics count frames by replacing it.
    this.ws.send(text, onSent);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  get isPaused(): boolean {
    return this.ws.isPaused;
  }

  listen(listener: SocketListener): void {
    const { ws } = this;
    ws.on('message', (data: RawData, isBinary: boolean) => listener.onFrame(isBinary ? null : data.toString()));
    ws.on('close', () => void listener.onClose());
    ws.on('error', ignoreError);
  }
}

/** Socket errors end in a close, handled there; a shared function keeps idle sockets small. */
function ignoreError(): void {}
