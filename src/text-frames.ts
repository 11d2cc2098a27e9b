/**
 * Text frames written straight into a `ws` socket's stream, one buffer each. `ws.send` spreads an
 * options object, builds another with a computed key, allocates the frame's header apart and writes
 * header and payload as two chunks (one `writev`), and a frame made by joining strings is flattened
 * and measured first: per subscriber per event at fan-out, that is a fifth of the server's user CPU
 * (docs/benchmarks.md). Here a frame whose payload is already bytes (a shared result encoded once per
 * event) is one allocation and two copies.
 *
 * Only for sockets whose frames `ws` never holds back: no compression negotiated (the gateway's
 * sockets never negotiate it, and send no Blobs), so its sender never queues and a frame written here
 * keeps its place among those `ws` sends. Its buffered bytes are the stream's, which
 * `ws.bufferedAmount` counts, so output bounds see them.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/** The parts of a `ws` socket read here (not in its typings). */
interface WsInternals {
  _socket?: Duplex | null;
  _sender?: { _state?: unknown } | null;
  extensions: string;
}

/** Where a counting replacement of `ws.send` keeps its counter (see `countsFramesOut`). */
const FRAMES_OUT = Symbol('framesOut');

type CountingSend = ((...args: any[]) => unknown) & { [FRAMES_OUT]?: () => void };

/**
 * Marks `send`, a replacement of sockets' `ws.send` that counts their frames (the gateway's
 * frames-out metric), as counting with `count`: frames written here to a socket whose `send` it is
 * are counted with it too. Kept on the function, which every socket of a protocol shares, so a
 * socket pays nothing for it.
 */
export function countsFramesOut<F extends (...args: any[]) => unknown>(send: F, count: () => void): F {
  (send as CountingSend)[FRAMES_OUT] = count;
  return send;
}

/** The counter of `ws`'s counting `send` (see `countsFramesOut`), read once when its output is made. */
export function framesOutCounterOf(ws: WebSocket): (() => void) | undefined {
  return (ws.send as CountingSend)[FRAMES_OUT];
}

/**
 * The stream text frames of `ws` may be written into, or undefined when only `ws.send` may write them
 * (compression negotiated, not open yet, or a `ws` whose internals are not the ones this module knows).
 */
export function textFrameStream(ws: WebSocket): Duplex | undefined {
  const internals = ws as unknown as WsInternals;
  if (internals.extensions !== '') return undefined;
  const socket = internals._socket;
  const sender = internals._sender;
  if (!socket || typeof socket.write !== 'function' || !sender || typeof sender._state !== 'number') return undefined;
  return socket;
}

/** FIN set, opcode 1 (text). */
const FIN_TEXT = 0x81;

/**
 * One unmasked text frame (a server's), header included, whose payload is `head`, `body`, then `tail`
 * (all UTF-8): what `stream.write` of a socket from `textFrameStream` sends as it is.
 */
export function textFrame(head: Uint8Array, body: Uint8Array, tail: Uint8Array): Buffer {
  const length = head.length + body.length + tail.length;
  const header = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = FIN_TEXT;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame[2] = length >>> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.set(head, header);
  frame.set(body, header + head.length);
  frame.set(tail, header + head.length + body.length);
  return frame;
}

/**
 * An event made of `head`, `body` and `tail`: a whole frame when there is a `stream` to write it into
 * (`textFrameStream`), else its text for `ws.send`.
 */
export function frameOrText(stream: Duplex | undefined, head: Uint8Array, body: Uint8Array, tail: Uint8Array): Buffer | string {
  return stream ? textFrame(head, body, tail) : Buffer.concat([head, body, tail]).toString();
}

/** `WebSocket.OPEN`. */
const OPEN = 1;

/**
 * Writes a whole frame from `textFrame` into `ws`'s `stream`, counted with `countFrameOut` (see
 * `framesOutCounterOf`). As `ws.send` does, nothing is written once a close started (either side's):
 * no frame may follow a close frame.
 */
export function writeWholeFrame(ws: WebSocket, stream: Duplex, frame: Buffer, countFrameOut: (() => void) | undefined): void {
  countFrameOut?.();
  if (ws.readyState === OPEN) stream.write(frame);
}

/**
 * The UTF-8 bytes of the last text asked for, for texts shared by many subscribers (an event's frame
 * text, made once per event): the first subscriber encodes it, the others find it here. One per kind
 * of text, kept where every subscriber reads the same one.
 */
export class SharedUtf8 {
  private text: string | undefined;
  private bytes: Buffer = Buffer.alloc(0);

  of(text: string): Buffer {
    // The same string object for every subscriber of an event: a pointer compare after the first.
    if (text !== this.text) {
      this.text = text;
      this.bytes = Buffer.from(text);
    }
    return this.bytes;
  }
}
