/**
 * One DCRF socket: its lifecycle (open, close, graceful drain), what it lets a client make the server
 * keep (subscriptions and their bytes, detached actions, keys) and the re-check of its user. A frame's
 * way in (`Inbound`: order, limits, parsing), to its consumer (`StreamRouter`: single stream or
 * multiplexer) and out (`Outbound`: held events, back-pressure) are parts of their own; the socket is
 * any `DcrfSocket` (a `ws` WebSocket as it is in the gateway, an in-memory one in `dcrf-gateway/testing`).
 */
import type { ConnectionScope } from '../scope.js';
import { Inbound, type InboundHost } from './inbound.js';
import { DEFAULT_DCRF_LIMITS, type DcrfLimits, type SessionObserver, type UserCheck, type UserCheckAnswer } from './limits.js';
import { Outbound, type OutboundHost } from './outbound.js';
import { SESSION_CLOSE } from './protocol.js';
import { type DcrfRoute, opensAtConnect, type RouterHost, StreamRouter } from './routing.js';
import type { DcrfSocket, FrameData } from './socket.js';

// The session's configuration, where the gateway, the metrics and the package root have always found it.
export { DEFAULT_DCRF_LIMITS, type DcrfLimits, type SessionObserver, type UserCheck, type UserCheckAnswer } from './limits.js';

/** Close code for a socket whose user was deleted or deactivated after it connected. */
export const USER_GONE_CLOSE = SESSION_CLOSE.userGone;

/** How long a peer may take to answer our close before it is cut off. */
const CLOSE_TIMEOUT_MS = 1000;

/** The session of each socket, for the listeners every socket shares. */
const sessions = new WeakMap<DcrfSocket, DcrfSession>();

/**
 * Every session's frame and close listeners: one pair of functions with the socket as `this`, where
 * two closures per socket made each idle socket heavier.
 */
function onSocketMessage(this: DcrfSocket, data: FrameData, isBinary: boolean): void {
  sessions.get(this)?.receive(isBinary ? null : data.toString());
}

function onSocketClose(this: DcrfSocket): void {
  void sessions.get(this)?.onClose();
}

export class DcrfSession implements InboundHost, OutboundHost, RouterHost {
  /** True once the socket is closing or closed. */
  closed = false;
  /** True once a graceful shutdown began. */
  draining = false;
  // The router, input and output sides are made on first use: an idle socket needs none of them
  // (unless its one consumer does something on connect).
  private madeRouter: StreamRouter | undefined;
  private inbound: Inbound | undefined;
  private outbound: Outbound | undefined;
  /** Aborted when the socket closes; made on first use (an idle socket never needs one). */
  private controller: AbortController | undefined;
  /** The consumers' disconnect, once the socket closed. */
  private disconnected: Promise<void> | undefined;
  private subscriptions = 0;
  /** Client-chosen bytes the socket's subscriptions keep (request ids, keys). */
  private subscriptionBytes = 0;
  private detached = 0;
  private idleWaiters: Array<() => void> | undefined;

  constructor(
    readonly socket: DcrfSocket,
    readonly scope: ConnectionScope,
    private readonly route: DcrfRoute,
    readonly limits: DcrfLimits = DEFAULT_DCRF_LIMITS,
    readonly observer: SessionObserver = {},
    private readonly userCheck?: UserCheck,
    /**
     * Whether the session listens for the socket's close itself; false when the socket's owner calls
     * `onClose()` from a close listener of its own (the gateway's), so a socket has one, not two.
     */
    listenForClose = true,
  ) {
    sessions.set(socket, this);
    socket.on('message', onSocketMessage);
    if (listenForClose) socket.on('close', onSocketClose);
  }

  /** Opens the consumer of a single-stream socket right away (multiplexed ones open on first use). */
  start(): Promise<void> {
    return opensAtConnect(this.route) ? this.router.open() : Promise.resolve();
  }

  /** Which consumer gets each frame: made on first use. */
  get router(): StreamRouter {
    return (this.madeRouter ??= new StreamRouter(this, this.route));
  }

  /** The socket's output: replies, events held behind a running action, the byte bound. */
  get output(): Outbound {
    return (this.outbound ??= new Outbound(this));
  }

  /** The signal a consumer's actions get; aborted when the socket closes. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.closed) this.controller.abort();
    }
    return this.controller.signal;
  }

  /**
   * Counts `count` subscriptions keeping `bytes` client-chosen bytes against the socket's limits (the
   * consumers' `track` and `countSubscription`); false when either limit would be passed.
   */
  reserveSubscription(count = 1, bytes = 0): boolean {
    if (this.subscriptions + count > this.limits.maxSubscriptions) {
      this.observer.limitHit?.('subscriptions');
      return false;
    }
    if (this.subscriptionBytes + bytes > this.limits.maxRetainedBytes) {
      this.observer.limitHit?.('retained_bytes');
      return false;
    }
    this.subscriptions += count;
    this.subscriptionBytes += bytes;
    return true;
  }

  releaseSubscription(count = 1, bytes = 0): void {
    this.subscriptions = Math.max(0, this.subscriptions - count);
    this.subscriptionBytes = Math.max(0, this.subscriptionBytes - bytes);
  }

  /** Counts a detached action against the socket's limit; false when as many are running already. */
  reserveDetached(): boolean {
    if (this.detached >= this.limits.maxDetachedActions) {
      this.observer.limitHit?.('detached_actions');
      return false;
    }
    this.detached++;
    return true;
  }

  releaseDetached(): void {
    this.detached = Math.max(0, this.detached - 1);
    this.wakeIfIdle();
  }

  /** Whether a client-chosen key of `bytes` may be kept; a refusal is counted. */
  keyFits(bytes: number): boolean {
    if (bytes <= this.limits.maxKeyBytes) return true;
    this.observer.limitHit?.('key_length');
    return false;
  }

  get maxKeyBytes(): number {
    return this.limits.maxKeyBytes;
  }

  actionCompleted(stream: string, action: string, status: number | null): void {
    this.observer.actionCompleted?.(stream, action, status);
  }

  get checksUser(): boolean {
    return this.userCheck !== undefined;
  }

  checkUser(): UserCheckAnswer | Promise<UserCheckAnswer> {
    const user = this.scope.user;
    return this.userCheck && user ? this.userCheck(user) : true;
  }

  /**
   * A still-active answer that is a user (the user as re-read) becomes the socket's user, on every
   * consumer's scope too, so permissions see the roles it has now. A deleted or deactivated user gets
   * nothing more, and the socket closes.
   */
  acceptUser(answer: UserCheckAnswer): boolean {
    if (!answer) {
      this.close(SESSION_CLOSE.userGone.code, SESSION_CLOSE.userGone.reason);
      return false;
    }
    if (answer !== true && answer !== this.scope.user) {
      this.scope.user = answer;
      this.madeRouter?.adoptUser(answer);
    }
    return true;
  }

  /**
   * Graceful shutdown: stops reading frames and resolves once the frames already read have been
   * answered and no detached action runs.
   */
  drain(): Promise<void> {
    this.draining = true;
    this.socket.pause();
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => (this.idleWaiters ??= []).push(resolve));
  }

  wakeIfIdle(): void {
    if (!this.idleWaiters || !this.idle) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  private get idle(): boolean {
    return !this.inbound?.busy && this.detached === 0;
  }

  /** Closes the socket; a peer that does not answer the close is cut off after a second. */
  close(code?: number, reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.outbound?.close();
    this.socket.close(code, reason);
    setTimeout(() => this.socket.terminate(), CLOSE_TIMEOUT_MS).unref();
    void this.onClose();
  }

  /** The socket closed: work under way is aborted, and every consumer told. Resolves once they all were. */
  onClose(): Promise<void> {
    return (this.disconnected ??= this.disconnect());
  }

  /** A frame arrived: its text, or null for a binary one. */
  receive(text: string | null): void {
    (this.inbound ??= new Inbound(this)).receive(text);
  }

  private async disconnect(): Promise<void> {
    this.closed = true;
    this.controller?.abort();
    this.inbound?.clear();
    this.outbound?.close();
    await this.madeRouter?.disconnect();
  }
}
