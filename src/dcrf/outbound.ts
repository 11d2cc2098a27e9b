/**
 * A DCRF socket's output, in order: replies go out at once; events wait behind the reply of the action
 * that is running, and behind a pending re-check of the socket's user; everything unsent (held events
 * included) is bounded by `maxBufferedBytes`, past which the socket is closed 1013 rather than waiting
 * for the network.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { frameOrText, framesOutCounterOf, textFrameStream, writeWholeFrame } from '../text-frames.js';
import type { DcrfLimits, SessionObserver, UserCheckAnswer } from './limits.js';
import { SESSION_CLOSE } from './protocol.js';
import type { DcrfSocket } from './socket.js';

/** What the output side needs from its session. */
export interface OutboundHost {
  readonly socket: DcrfSocket;
  readonly limits: DcrfLimits;
  readonly observer: SessionObserver;
  /** True once the socket is closing or closed: nothing more is sent (the session then calls `close()`). */
  readonly closed: boolean;
  /** Whether the session re-checks its user before events (false: `checkUser` always answers true). */
  readonly checksUser: boolean;
  close(code: number, reason: string): void;
  /** Re-checks the socket's user before an event: `true` when there is nothing to check. */
  checkUser(): UserCheckAnswer | Promise<UserCheckAnswer>;
  /** Takes a re-check's answer: true when the user is still active, false once the socket is being closed. */
  acceptUser(answer: UserCheckAnswer): boolean;
}

/** An event's text, or a whole frame (header included) for `frameStream`; `length` counts against the bound either way. */
type Frame = string | Buffer;

export class Outbound {
  /** True while an action of this socket runs: events are held so its reply goes out first. */
  holding = false;
  /**
   * The session's `closed`, kept here: an event to one of 10,000 sockets then reads this object and the
   * socket, not the session too (each object read per subscriber per event is a cache miss at that scale).
   */
  private closed: boolean;
  private readonly checksUser: boolean;
  private readonly socket: DcrfSocket;
  private readonly maxBufferedBytes: number;
  private readonly observer: SessionObserver;
  /** Events held behind the running action, made on first use (text, or whole frames for `frameStream`). */
  private held: Frame[] | undefined;
  /** Events waiting for a pending user re-check, in order. */
  private gated: Frame[] | undefined;
  /**
   * Where events made of bytes are written as whole frames (see text-frames.ts); undefined: every frame
   * goes through the socket's `send`.
   */
  readonly frameStream: Duplex | undefined;
  private readonly countFrameOut: (() => void) | undefined;
  /** Size of the events held or gated (characters, bytes of whole frames): they count with the socket's own buffer against maxBufferedBytes. */
  private heldBytes = 0;

  constructor(private readonly host: OutboundHost) {
    this.closed = host.closed;
    this.checksUser = host.checksUser;
    this.socket = host.socket;
    this.maxBufferedBytes = host.limits.maxBufferedBytes;
    this.observer = host.observer;
    // A DcrfSocket that is not a `ws` socket (a test's) has none of its internals: every frame is sent.
    this.frameStream = textFrameStream(host.socket as unknown as WebSocket);
    this.countFrameOut = this.frameStream && framesOutCounterOf(host.socket as unknown as WebSocket);
  }

  /**
   * Sends a frame now. `onSent` runs once the frame has been handed to the network, or at once when it
   * is dropped (closed socket, slow consumer): a producer of many frames can wait on it to keep pace.
   */
  write(text: string, onSent?: () => void): void {
    this.writeFrame(text, onSent);
  }

  /** `write` of a held event too: text for the socket's `send`, or a whole frame for `frameStream` (never with `onSent`). */
  private writeFrame(frame: Frame, onSent?: () => void): void {
    if (!this.closed && this.heldBytes + this.socket.bufferedAmount > this.maxBufferedBytes) this.slowConsumer();
    if (this.closed) {
      onSent?.();
      return;
    }
    this.observer.frameOut?.();
    if (typeof frame === 'string') this.socket.send(frame, onSent);
    // The session's `closed` is set only once the socket has closed: a close under way is the writer's to see.
    else writeWholeFrame(this.socket as unknown as WebSocket, this.frameStream!, frame, this.countFrameOut);
  }

  /**
   * `sendEvent` of a frame whose text is `head`, `body` and `tail`, written as one whole frame into the
   * socket's stream (when there is none, `frameStream` undefined, sent as text).
   */
  sendEventBytes(head: Uint8Array, body: Uint8Array, tail: Uint8Array): void {
    this.queueEvent(frameOrText(this.frameStream, head, body, tail));
  }

  /** Sends an event, held while an action of this socket runs so its reply goes out first. */
  sendEvent(text: string): void {
    this.queueEvent(text);
  }

  /** `sendEvent` of a frame's text, or of a whole frame for `frameStream`. */
  private queueEvent(text: Frame): void {
    if (this.closed) {
      this.observer.eventDropped?.('socket_closed');
      return;
    }
    // Events queue behind a pending re-check so they keep their order.
    if (this.gated) {
      this.holdIn(this.gated, text);
      return;
    }
    if (!this.checksUser) {
      this.deliver(text);
      return;
    }
    const host = this.host;
    const answer = host.checkUser();
    if (answer === true) {
      this.deliver(text);
      return;
    }
    if (!(answer instanceof Promise)) {
      if (host.acceptUser(answer)) this.deliver(text);
      return;
    }
    this.gated = [];
    this.holdIn(this.gated, text);
    answer.then(
      (active) => this.releaseGated(active),
      () => this.releaseGated(false),
    );
  }

  /** Sends the events held behind the action that just answered. */
  flushHeld(): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    for (const text of held) this.heldBytes -= text.length;
    for (const text of held) this.writeFrame(text);
  }

  /** The socket is closing or closed: nothing more is sent, and what was held is forgotten. */
  close(): void {
    this.closed = true;
    this.held = undefined;
    this.heldBytes = 0;
  }

  private deliver(text: Frame): void {
    if (this.holding) this.holdIn((this.held ??= []), text);
    else this.writeFrame(text);
  }

  private releaseGated(active: UserCheckAnswer): void {
    const gated = this.gated ?? [];
    this.gated = undefined;
    for (const text of gated) this.heldBytes -= text.length;
    if (!active) for (let i = 0; i < gated.length; i++) this.observer.eventDropped?.('user_inactive');
    if (!this.host.acceptUser(active)) return;
    for (const text of gated) this.deliver(text);
  }

  /**
   * Keeps an event for later (behind a running action's reply, or a pending user re-check). Held events
   * are output the client owes us as much as the socket's buffer is, so together they share its bound.
   */
  private holdIn(list: Frame[], text: Frame): void {
    if (this.closed) return;
    if (this.heldBytes + text.length + this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.slowConsumer();
      return;
    }
    list.push(text);
    this.heldBytes += text.length;
  }

  /** The socket's output passed its bound: closed 1013 rather than buffering more (sends never wait). */
  private slowConsumer(): void {
    this.observer.slowConsumerClosed?.();
    this.observer.eventDropped?.('slow_consumer');
    this.host.close(SESSION_CLOSE.slowConsumer.code, SESSION_CLOSE.slowConsumer.reason);
  }
}
