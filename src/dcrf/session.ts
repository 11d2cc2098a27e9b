/**
 * One DCRF socket: reads frames in order, routes them to the stream's consumer (bare frames on
 * /ws/<stream>, `{stream, payload}` on the multiplexer), applies the per-socket limits, and holds
 * events while an action runs so its reply goes out first.
 */
import type { WebSocket, RawData } from 'ws';
import { APIError, BadRequest, PermissionDenied } from '../errors.js';
import type { ConnectionScope } from '../scope.js';
import type { AsyncAPIConsumer, ConsumerClass, ConsumerTransport } from './consumer.js';
import { CLOSE, encodeError, encodeReply, encodeValue, MESSAGES, parseObject, STATUS } from './protocol.js';
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
  /** A socket whose unsent output passes this many bytes is closed 1013. */
  maxBufferedBytes: number;
}

export const DEFAULT_DCRF_LIMITS: DcrfLimits = {
  maxDepth: 64,
  maxSubscriptions: 1000,
  ratePerSecond: 1000,
  rateBurst: 2000,
  throttleCloseMs: 10_000,
  maxBufferedBytes: 4 * 1024 * 1024,
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
  /** A limit refused something (`subscriptions`, `rate_close`, `inbound_queue`). */
  limitHit?(limit: string): void;
}

/**
 * Re-checks that a socket's user still exists and is active (deleted or deactivated users stop
 * receiving events and get their socket closed). Answers synchronously while a recent answer is
 * cached, so the common case costs a map lookup.
 */
export type UserCheck = (user: NonNullable<ConnectionScope['user']>) => boolean | Promise<boolean>;

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
  private busy = false;
  private held: string[] = [];
  private subscriptions = 0;
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
      // A client that sends faster than its actions finish must not grow this queue without bound:
      // stop reading until it drains, so the kernel's TCP window slows the sender instead.
      if (this.queue.length >= MAX_QUEUED_FRAMES && !this.ws.isPaused) {
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
      if (this.ws.isPaused && this.queue.length < MAX_QUEUED_FRAMES / 2 && !this.closed) this.ws.resume();
    }
    this.busy = false;
    this.flushHeld();
  }

  private flushHeld(): void {
    if (this.held.length === 0) return;
    const held = this.held;
    this.held = [];
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
      const active = this.userCheck(this.scope.user);
      if (active !== true && !(await active)) {
        this.userGone();
        return;
      }
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

  /** Counts a subscription against the socket's limit (the consumers' `track`). */
  reserveSubscription(): boolean {
    if (this.subscriptions >= this.limits.maxSubscriptions) {
      this.observer.limitHit?.('subscriptions');
      return false;
    }
    this.subscriptions++;
    return true;
  }

  releaseSubscription(): void {
    this.subscriptions = Math.max(0, this.subscriptions - 1);
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
      this.gated.push(text);
      return;
    }
    const active = this.userCheck(user);
    if (active === true) return this.deliverEvent(text);
    if (active === false) return this.userGone();
    this.gated = [text];
    active.then(
      (ok) => this.releaseGated(ok),
      () => this.releaseGated(false),
    );
  }

  private releaseGated(active: boolean): void {
    const gated = this.gated ?? [];
    this.gated = null;
    if (!active) {
      for (let i = 0; i < gated.length; i++) this.observer.eventDropped?.('user_inactive');
      this.userGone();
      return;
    }
    for (const text of gated) this.deliverEvent(text);
  }

  private deliverEvent(text: string): void {
    if (this.busy) this.held.push(text);
    else this.write(text);
  }

  /** The socket's user was deleted or deactivated: nothing more is sent, and the socket closes. */
  private userGone(): void {
    if (this.closed) return;
    this.close(USER_GONE_CLOSE.code, USER_GONE_CLOSE.reason);
  }

  /** Sends a frame now. */
  write(text: string): void {
    if (this.closed) return;
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.observer.slowConsumerClosed?.();
      this.observer.eventDropped?.('slow_consumer');
      this.close(CLOSE.tryAgainLater, 'Slow consumer');
      return;
    }
    this.observer.frameOut?.();
    this.ws.send(text);
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
    this.held = [];
    const consumers = this.single ? [this.single] : [...(this.consumers?.values() ?? [])];
    for (const consumer of consumers) {
      try {
        await consumer.disconnect();
      } catch (error) {
        logger.error('disconnect failed', { error: String(error) });
      }
    }
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

  sendReply(text: string): void {
    this.session.write(this.prefix ? this.prefix + text + '}' : text);
  }

  sendEvent(text: string): void {
    this.session.sendEvent(this.prefix ? this.prefix + text + '}' : text);
  }

  close(code?: number, reason?: string): void {
    this.session.close(code, reason);
  }

  reserveSubscription(): boolean {
    return this.session.reserveSubscription();
  }

  releaseSubscription(): void {
    this.session.releaseSubscription();
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
