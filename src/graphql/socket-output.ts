/**
 * Everything a GraphQL socket sends goes through its SocketOutput: protocol messages, query and
 * mutation results, errors and subscription events alike. Sends never wait for the network (one
 * client that stops reading must not hold up its own message queue, nor keep results alive in it);
 * instead, as on DCRF sockets, a socket whose unsent output (its `ws` buffer plus the events held
 * here) passes `maxBufferedBytes` is closed 1013, and a peer that does not answer a close is cut off a
 * second later, which frees what was buffered for it.
 *
 * Events also wait for the socket's user re-check (SocketUser): held, in order, while the user is
 * being re-read, and dropped once the user is found gone (the socket is then closing 4403).
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { frameOrText, framesOutCounterOf, textFrameStream, writeWholeFrame } from '../text-frames.js';
import { limitReason } from './errors.js';
import type { SocketObserver } from './socket-limits.js';
import type { SocketUser } from './socket-user.js';

/** Close code and reason of a socket whose unsent output passed the bound (as DCRF's). */
export const SLOW_CONSUMER_CLOSE = { code: 1013, reason: 'Slow consumer' } as const;
/** How long a peer has to answer our close before its socket is cut off. */
const CLOSE_GRACE_MS = 1000;

interface Held {
  /** A frame's text for `ws.send`, or a whole frame (header included) for the socket's stream. */
  frame: string | Buffer;
  flushed: (() => void) | undefined;
}

export class SocketOutput {
  private closing = false;
  /** Events waiting for a pending user re-check, in order; null when none is pending. */
  private held: Held[] | null = null;
  private heldBytes = 0;
  /**
   * Where events whose payload is already bytes are written as whole frames (see text-frames.ts);
   * undefined: every frame goes through `ws.send`.
   */
  readonly frameStream: Duplex | undefined;
  private readonly countFrameOut: (() => void) | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly maxBufferedBytes: number,
    private readonly observer: SocketObserver = {},
    private readonly user?: SocketUser,
  ) {
    this.frameStream = textFrameStream(ws);
    this.countFrameOut = framesOutCounterOf(ws);
  }

  /** Whether frames are still sent (false once a close started). */
  get open(): boolean {
    return !this.closing && this.ws.readyState === this.ws.OPEN;
  }

  /**
   * Sends a frame now; `flushed` runs once it left the process, or at once when it is dropped (the
   * socket is closing, or its output passed the bound: then the socket is closed 1013).
   */
  send(frame: string, flushed?: () => void): boolean {
    return this.sendFrame(frame, flushed);
  }

  /** `send` of a held frame: text for `ws.send`, or a whole frame for the stream (never with `flushed`). */
  private sendFrame(frame: string | Buffer, flushed: (() => void) | undefined): boolean {
    if (!this.open) {
      flushed?.();
      return false;
    }
    if (this.ws.bufferedAmount + this.heldBytes > this.maxBufferedBytes) {
      this.slowConsumer();
      flushed?.();
      return false;
    }
    if (typeof frame === 'string') this.ws.send(frame, flushed);
    else writeWholeFrame(this.ws, this.frameStream!, frame, this.countFrameOut);
    return true;
  }

  /** Whether everything sent has left the process: nothing in `ws`'s buffer, no event held for a re-check. */
  get drained(): boolean {
    return this.held === null && this.ws.bufferedAmount === 0;
  }

  /**
   * `sendEvent` of a text frame whose payload is `head`, `body` and `tail`, written as one whole frame
   * into the socket's stream (when there is none, `frameStream` undefined, sent as text).
   */
  sendEventBytes(head: Uint8Array, body: Uint8Array, tail: Uint8Array): void {
    this.queueEvent(frameOrText(this.frameStream, head, body, tail), undefined);
  }

  /** Sends a subscription event once the socket's user is known to be still active. */
  sendEvent(frame: string, flushed?: () => void): void {
    this.queueEvent(frame, flushed);
  }

  /** `sendEvent` of a frame's text, or of a whole frame for `frameStream`. */
  private queueEvent(frame: string | Buffer, flushed: (() => void) | undefined): void {
    if (this.held) {
      this.hold(frame, flushed);
      return;
    }
    const active = this.user ? this.user.check() : true;
    if (active === true) {
      this.sendFrame(frame, flushed);
      return;
    }
    if (active === false) {
      this.drop('user_inactive', flushed);
      return;
    }
    this.held = [];
    this.hold(frame, flushed);
    void active.then((ok) => this.releaseHeld(ok));
  }

  /**
   * Closes the socket (reason cut under 124 bytes); a peer that does not answer is cut off a second
   * later. `stopReading` (a socket closed for breaking a limit): what it still sends is not even read.
   */
  close(code?: number, reason = '', stopReading = false): void {
    if (this.closing) return;
    this.closing = true;
    if (stopReading) this.ws.pause();
    this.dropHeld(this.user?.isGone ? 'user_inactive' : 'socket_closed');
    this.ws.close(code, limitReason(reason));
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  /** The socket closed: nothing more is sent, held events are dropped. */
  ended(): void {
    this.closing = true;
    this.dropHeld('socket_closed');
  }

  private hold(frame: string | Buffer, flushed: (() => void) | undefined): void {
    if (!this.open) {
      this.drop('socket_closed', flushed);
      return;
    }
    // Held events are output this client owes us as much as the socket's buffer is: they share its bound.
    if (this.ws.bufferedAmount + this.heldBytes + frame.length > this.maxBufferedBytes) {
      this.slowConsumer();
      flushed?.();
      return;
    }
    this.held!.push({ frame, flushed });
    this.heldBytes += frame.length;
  }

  private releaseHeld(active: boolean): void {
    const held = this.held ?? [];
    this.held = null;
    this.heldBytes = 0;
    for (const { frame, flushed } of held) {
      if (active) this.sendFrame(frame, flushed);
      else this.drop('user_inactive', flushed);
    }
  }

  private dropHeld(reason: string): void {
    const held = this.held ?? [];
    this.held = this.held && [];
    this.heldBytes = 0;
    for (const { flushed } of held) this.drop(reason, flushed);
  }

  private drop(reason: string, flushed: (() => void) | undefined): void {
    this.observer.eventDropped?.(reason);
    flushed?.();
  }

  private slowConsumer(): void {
    this.observer.slowConsumerClosed?.();
    this.observer.eventDropped?.('slow_consumer');
    this.close(SLOW_CONSUMER_CLOSE.code, SLOW_CONSUMER_CLOSE.reason, true);
  }
}
