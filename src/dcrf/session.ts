/**
 * One DCRF socket: reads frames in order, routes them to the stream's consumer (bare frames on
 * /ws/<stream>, `{stream, payload}` on the multiplexer), applies the per-socket limits, and holds
 * events while an action runs so its reply goes out first.
 */
import type { WebSocket, RawData } from 'ws';
import { APIError, BadRequest, PermissionDenied } from '../errors.js';
import type { ConnectionScope } from '../scope.js';
import type { AsyncAPIConsumer, ConsumerClass, ConsumerTransport } from './consumer.js';
import { CLOSE, DEFAULT_MAX_KEY_BYTES, encodeError, encodeReply, encodeValue, MESSAGES, parseObject, STATUS } from './protocol.js';
import { logger } from '../logger.js';
import { FrameRateLimiter } from './rate-limit.js';

/** Per-socket limits (dcrf-protocol.md section 5). */
export interface DcrfLimits {
  /** JSON nesting depth past which a frame is refused with 400. */
  maxDepth: number;
  /** Subscriptions one socket may hold. */
  maxSubscriptions: number;
  /** Sustained frames per second. */
  ratePerSecond: number;
  /** Frames allowed in a burst above the sustained rate. */
  rateBurst: number;
  /** After this long of continued excess the socket is closed 1008. */
  throttleCloseMs: number;
  /** A socket whose unsent output (events held behind a running action included) passes this many bytes is closed 1013. */
  maxBufferedBytes: number;
  /**
   * Longest client-chosen value kept as a key (a request id, a pk or group argument of a subscription),
   * in bytes of its JSON; longer ones are refused with a 400 field error.
   */
  maxKeyBytes: number;
  /**
   * Client-chosen bytes one socket may make the server keep, counted twice over: by its subscriptions
   * (their request ids and keys; beyond: 429) and by the frames read but not yet handled (beyond:
   * reading pauses until half have been handled).
   */
  maxRetainedBytes: number;
  /** Detached actions one socket may have running at once; beyond: 429 `Request was throttled.`. */
  maxDetachedActions: number;
  /** A ping every this many ms; a socket that has not answered the last one by the next is cut off. 0 = never. */
  pingIntervalMs: number;
}

export const DEFAULT_DCRF_LIMITS: DcrfLimits = {
  maxDepth: 64,
  maxSubscriptions: 1000,
  ratePerSecond: 1000,
  rateBurst: 2000,
  throttleCloseMs: 10_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxKeyBytes: DEFAULT_MAX_KEY_BYTES,
  maxRetainedBytes: 1024 * 1024,
  maxDetachedActions: 16,
  pingIntervalMs: 30_000,
};

/** Counters the session reports to (the gateway's metrics). */
export interface SessionObserver {
  frameIn?(): void;
  frameOut?(): void;
  throttled?(): void;
  slowConsumerClosed?(): void;
  /** An action answered (`status` null: it sent no reply); `action` is `<unknown>` for names the consumer lacks. */
  actionCompleted?(stream: string, action: string, status: number | null): void;
  /** An event meant for this socket was not sent (`socket_closed`, `slow_consumer`, `user_inactive`). */
  eventDropped?(reason: string): void;
  /**
   * A limit refused something (`subscriptions`, `retained_bytes`, `key_length`, `detached_actions`,
   * `rate_close`, `inbound_queue`).
   */
  limitHit?(limit: string): void;
}

/**
 * Re-checks that a socket's user still exists and is active (deleted or deactivated users stop
 * receiving events and get their socket closed). Answers synchronously while a recent answer is
 * cached, so the common case costs a map lookup. An answer that is a user (UserRecheck.current) is the
 * user as re-read: it becomes the socket's user, so permissions see the roles it has now.
 */
export type UserCheck = (user: NonNullable<ConnectionScope['user']>) => UserCheckAnswer | Promise<UserCheckAnswer>;

/** `true` or the re-read user: still active; `false` or `null`: deleted or deactivated. */
export type UserCheckAnswer = boolean | NonNullable<ConnectionScope['user']> | null;

/** Close code for a socket whose user was deleted or deactivated after it connected. */
export const USER_GONE_CLOSE = { code: 1008, reason: 'User is no longer active' } as const;

/** Frames read from a socket and not yet handled past which reading pauses (TCP pushes back on the client). */
const MAX_QUEUED_FRAMES = 256;
/** Frames one socket may have handled back to back before it yields to the event loop. */
const FRAMES_PER_TURN = 32;

export type DcrfRoute =
  | { kind: 'single'; stream: string; consumer: ConsumerClass }
  | { kind: 'multiplex'; streams: ReadonlyMap<string, ConsumerClass>; refused: ReadonlySet<string> };

interface Frame {
  text: string | null;
  binary: boolean;
}

export class DcrfSession {
  /** A single-stream socket's consumer. */
  private single: AsyncAPIConsumer | undefined;
  /** A multiplexed socket's consumers by stream, made on first use (a Map per idle socket adds up). */
  private consumers: Map<string, AsyncAPIConsumer> | undefined;
  /** Aborted when the socket closes; made on first use (an idle socket never needs one). */
  private controller: AbortController | undefined;
  private readonly queue: Frame[] = [];
  /** Characters of the queued frames' text: bounded by maxRetainedBytes as well as by count. */
  private queuedBytes = 0;
  private busy = false;
  private held: string[] = [];
  /** Characters of the events held or gated: they count with the socket's own buffer against maxBufferedBytes. */
  private heldBytes = 0;
  private subscriptions = 0;
  /** Client-chosen bytes the socket's subscriptions keep (request ids, keys). */
  private subscriptionBytes = 0;
  private detached = 0;
  private readonly rate: FrameRateLimiter;
  private closed = false;
  /** Events waiting for a pending user re-check, in order. */
  private gated: string[] | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly scope: ConnectionScope,
    private readonly route: DcrfRoute,
    private readonly limits: DcrfLimits = DEFAULT_DCRF_LIMITS,
    private readonly observer: SessionObserver = {},
    private readonly userCheck?: UserCheck,
  ) {
    this.rate = new FrameRateLimiter(limits.ratePerSecond, limits.rateBurst, limits.throttleCloseMs);
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', () => void this.onClose());
    ws.on('error', ignoreError);
  }

  /** Opens the consumer of a single-stream socket right away (multiplexed ones open on first use). */
  async start(): Promise<void> {
    if (this.route.kind === 'single') {
      const consumer = this.consumerFor(this.route.stream, this.route.consumer);
      await consumer.onConnect();
    }
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    this.observer.frameIn?.();
    const frame: Frame = isBinary ? { text: null, binary: true } : { text: data.toString(), binary: false };
    if (!this.busy) void this.process(frame);
    else {
      this.queue.push(frame);
      this.queuedBytes += frame.text?.length ?? 0;
      // A client that sends faster than its actions finish must not grow this queue without bound, in
      // frames or in bytes: stop reading until it drains, so the kernel's TCP window slows the sender instead.
      if ((this.queue.length >= MAX_QUEUED_FRAMES || this.queuedBytes > this.limits.maxRetainedBytes) && !this.ws.isPaused) {
        this.observer.limitHit?.('inbound_queue');
        this.ws.pause();
      }
    }
  }

  private async process(frame: Frame): Promise<void> {
    this.busy = true;
    let next: Frame | undefined = frame;
    let handled = 0;
    while (next && !this.closed) {
      // Actions that finish without I/O (cached reads) never leave the microtask queue: after a run
      // of them, let other sockets' I/O in so one fast client cannot starve the rest.
      if (++handled % FRAMES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
      try {
        await this.handle(next);
      } catch (error) {
        logger.error('frame handling failed', { error: String((error as Error)?.stack ?? error) });
      }
      this.flushHeld();
      next = this.queue.shift();
      if (next) this.queuedBytes -= next.text?.length ?? 0;
      if (this.ws.isPaused && !this.closed && !this.draining && this.queue.length < MAX_QUEUED_FRAMES / 2 && this.queuedBytes <= this.limits.maxRetainedBytes / 2) {
        this.ws.resume();
      }
    }
    this.busy = false;
    this.flushHeld();
    this.wakeIfIdle();
  }

  private flushHeld(): void {
    if (this.held.length === 0) return;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const text of held) this.write(text);
  }

  private async handle(frame: Frame): Promise<void> {
    const multiplexed = this.route.kind === 'multiplex';
    if (!this.rate.take()) {
      this.replyThrottled(frame, multiplexed);
      return;
    }
    if (this.userCheck && this.scope.user) {
      // A fresh cached answer is synchronous: only a re-read costs an await.
      let active = this.userCheck(this.scope.user);
      if (active instanceof Promise) active = await active;
      if (!active) {
        this.userGone();
        return;
      }
      this.adoptUser(active);
    }
    let content: Record<string, unknown>;
    try {
      if (frame.binary) throw new BadRequest(MESSAGES.binaryFrame);
      content = parseObject(frame.text as string, this.limits.maxDepth);
    } catch (error) {
      const reply = encodeError(null, null, error as APIError);
      this.write(multiplexed ? wrap(null, reply) : reply);
      return;
    }
    if (this.route.kind === 'single') {
      await this.consumerFor(this.route.stream, this.route.consumer).receiveJson(content);
      return;
    }
    const { stream, payload } = content;
    if (typeof stream !== 'string' || payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      const request = payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
      const reply = encodeReply(request.action ?? null, null, STATUS.badRequest, request.request_id ?? null, [MESSAGES.multiplexShape]);
      this.write(wrap(stream ?? null, reply));
      return;
    }
    const body = payload as Record<string, unknown>;
    const consumerClass = this.route.streams.get(stream);
    if (!consumerClass) {
      this.write(wrap(stream, encodeReply(body.action ?? null, null, STATUS.badRequest, body.request_id ?? null, [MESSAGES.unknownStream(stream)])));
      return;
    }
    if (this.route.refused.has(stream)) {
      this.write(wrap(stream, encodeError(body.action ?? null, body.request_id ?? null, new PermissionDenied())));
      return;
    }
    let consumer = this.consumers?.get(stream);
    if (!consumer) {
      consumer = this.consumerFor(stream, consumerClass);
      await consumer.onConnect();
    }
    await consumer.receiveJson(body);
  }

  private replyThrottled(frame: Frame, multiplexed: boolean): void {
    this.observer.throttled?.();
    if (this.rate.refused()) {
      this.observer.limitHit?.('rate_close');
      this.close(CLOSE.policyViolation, 'Rate limit exceeded');
      return;
    }
    let stream: unknown = null;
    let request: Record<string, unknown> = {};
    try {
      const content = frame.text ? parseObject(frame.text, this.limits.maxDepth) : {};
      if (multiplexed) {
        stream = content.stream ?? null;
        if (content.payload && typeof content.payload === 'object') request = content.payload as Record<string, unknown>;
      } else request = content;
    } catch {
      // Unreadable and over the rate: the throttle reply still says why.
    }
    const reply = encodeReply(request.action ?? null, null, STATUS.throttled, request.request_id ?? null, ['Request was throttled.']);
    this.write(multiplexed ? wrap(stream, reply) : reply);
  }

  private consumerFor(stream: string, consumerClass: ConsumerClass): AsyncAPIConsumer {
    let consumer = this.route.kind === 'single' ? this.single : this.consumers?.get(stream);
    if (consumer) return consumer;
    const multiplexed = this.route.kind === 'multiplex';
    // A single-stream socket's scope is its own (the gateway builds one per upgrade): no copy needed.
    const scope = multiplexed ? { ...this.scope, stream } : Object.assign(this.scope, { stream });
    consumer = new consumerClass(new StreamTransport(this, scope, multiplexed ? '{"stream":' + JSON.stringify(stream) + ',"payload":' : ''));
    if (multiplexed) (this.consumers ??= new Map()).set(stream, consumer);
    else this.single = consumer;
    return consumer;
  }

  /** The signal a consumer's actions get; aborted when the socket closes. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.disconnected) this.controller.abort();
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

  /** Sends an event, held while an action of this socket runs so its reply goes out first. */
  sendEvent(text: string): void {
    if (this.closed) {
      this.observer.eventDropped?.('socket_closed');
      return;
    }
    const user = this.scope.user;
    if (!this.userCheck || !user) return this.deliverEvent(text);
    // Events queue behind a pending re-check so they keep their order.
    if (this.gated) {
      this.holdIn(this.gated, text);
      return;
    }
    const active = this.userCheck(user);
    if (!(active instanceof Promise)) {
      if (!active) return this.userGone();
      this.adoptUser(active);
      return this.deliverEvent(text);
    }
    this.gated = [];
    this.holdIn(this.gated, text);
    active.then(
      (ok) => this.releaseGated(ok),
      () => this.releaseGated(false),
    );
  }

  /** Makes the re-read user the socket's user, on every consumer's scope too (multiplexed ones hold copies). */
  private adoptUser(answer: UserCheckAnswer): void {
    if (answer === true || !answer || answer === this.scope.user) return;
    this.scope.user = answer;
    for (const consumer of this.consumers?.values() ?? []) consumer.scope.user = answer;
  }

  private releaseGated(active: UserCheckAnswer): void {
    const gated = this.gated ?? [];
    this.gated = null;
    for (const text of gated) this.heldBytes -= text.length;
    if (!active) {
      for (let i = 0; i < gated.length; i++) this.observer.eventDropped?.('user_inactive');
      this.userGone();
      return;
    }
    this.adoptUser(active);
    for (const text of gated) this.deliverEvent(text);
  }

  private deliverEvent(text: string): void {
    if (this.busy) this.holdIn(this.held, text);
    else this.write(text);
  }

  /**
   * Keeps an event for later (behind a running action's reply, or a pending user re-check). Held events
   * are output the client owes us as much as the socket's buffer is, so together they share its bound.
   */
  private holdIn(list: string[], text: string): void {
    if (this.closed) return;
    if (this.heldBytes + text.length + this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.slowConsumer();
      return;
    }
    list.push(text);
    this.heldBytes += text.length;
  }

  /** The socket's user was deleted or deactivated: nothing more is sent, and the socket closes. */
  private userGone(): void {
    if (this.closed) return;
    this.close(USER_GONE_CLOSE.code, USER_GONE_CLOSE.reason);
  }

  /**
   * Sends a frame now. `onSent` runs once the frame has been handed to the network, or at once when it
   * is dropped (closed socket, slow consumer): a producer of many frames can wait on it to keep pace.
   */
  write(text: string, onSent?: () => void): void {
    if (!this.closed && this.heldBytes + this.ws.bufferedAmount > this.limits.maxBufferedBytes) this.slowConsumer();
    if (this.closed) {
      onSent?.();
      return;
    }
    this.observer.frameOut?.();
    if (onSent) this.ws.send(text, () => onSent());
    else this.ws.send(text);
  }

  /** The socket's output passed its bound: closed 1013 rather than buffering more (sends never wait). */
  private slowConsumer(): void {
    this.observer.slowConsumerClosed?.();
    this.observer.eventDropped?.('slow_consumer');
    this.close(CLOSE.tryAgainLater, 'Slow consumer');
  }

  private draining = false;
  private idleWaiters: Array<() => void> | undefined;

  /**
   * Graceful shutdown: stops reading frames and resolves once the frames already read have been
   * answered and no detached action runs.
   */
  drain(): Promise<void> {
    this.draining = true;
    this.ws.pause();
    if (!this.busy && this.detached === 0) return Promise.resolve();
    return new Promise((resolve) => (this.idleWaiters ??= []).push(resolve));
  }

  private wakeIfIdle(): void {
    if (!this.idleWaiters || this.busy || this.detached > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  /** Closes the socket; a peer that does not answer the close is cut off after a second. */
  close(code?: number, reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), 1000).unref();
    void this.onClose();
  }

  private disconnected = false;

  private async onClose(): Promise<void> {
    if (this.disconnected) return;
    this.disconnected = true;
    this.closed = true;
    this.controller?.abort();
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.held = [];
    this.heldBytes = 0;
    const consumers = this.single ? [this.single] : [...(this.consumers?.values() ?? [])];
    // Started together: each disconnect cancels its detached actions before its first await, so none
    // of them keeps working for a socket that is gone while another consumer's onDisconnect runs.
    await Promise.all(
      consumers.map((consumer) =>
        consumer.disconnect().catch((error: unknown) => logger.error('disconnect failed', { error: String(error) })),
      ),
    );
    this.consumers?.clear();
  }
}

/**
 * One consumer's transport: a small object over its session (one per stream of a socket) rather than
 * a bag of closures, which idle sockets would pay for in memory.
 */
class StreamTransport implements ConsumerTransport {
  constructor(
    private readonly session: DcrfSession,
    readonly scope: ConnectionScope,
    /** `{"stream":S,"payload":` on a multiplexed socket, empty on a single-stream one. */
    private readonly prefix: string,
  ) {}

  get signal(): AbortSignal {
    return this.session.signal;
  }

  sendReply(text: string, onSent?: () => void): void {
    this.session.write(this.prefix ? this.prefix + text + '}' : text, onSent);
  }

  sendEvent(text: string): void {
    this.session.sendEvent(this.prefix ? this.prefix + text + '}' : text);
  }

  close(code?: number, reason?: string): void {
    this.session.close(code, reason);
  }

  reserveSubscription(count?: number, bytes?: number): boolean {
    return this.session.reserveSubscription(count, bytes);
  }

  releaseSubscription(count?: number, bytes?: number): void {
    this.session.releaseSubscription(count, bytes);
  }

  reserveDetached(): boolean {
    return this.session.reserveDetached();
  }

  releaseDetached(): void {
    this.session.releaseDetached();
  }

  get maxKeyBytes(): number {
    return this.session.maxKeyBytes;
  }

  keyFits(bytes: number): boolean {
    return this.session.keyFits(bytes);
  }

  actionCompleted(action: string, status: number | null): void {
    this.session.actionCompleted(this.scope.stream as string, action, status);
  }
}

/** Socket errors end in a close, handled there; a shared function keeps idle sockets small. */
function ignoreError(): void {}

function wrap(stream: unknown, payloadText: string): string {
  return '{"stream":' + encodeValue(stream) + ',"payload":' + payloadText + '}';
}
