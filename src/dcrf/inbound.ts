/**
 * A DCRF socket's input: frames are handled one at a time, in the order they came. Frames that arrive
 * meanwhile wait in a queue bounded in frames and in bytes (past it, reading pauses, so TCP slows the
 * sender instead); each frame passes the rate limit and the user re-check, is parsed, and goes to the
 * router. Events are held while a frame is handled, so its reply goes out first.
 */
import { type APIError, BadRequest } from '../errors.js';
import { logger } from '../logger.js';
import type { DcrfLimits, SessionObserver, UserCheckAnswer } from './limits.js';
import type { Outbound } from './outbound.js';
import { MESSAGES, parseObject, SESSION_CLOSE, STATUS } from './protocol.js';
import { FrameRateLimiter } from './rate-limit.js';
import type { StreamRouter } from './routing.js';
import type { DcrfSocket } from './socket.js';

/** Frames read from a socket and not yet handled past which reading pauses (TCP pushes back on the client). */
const MAX_QUEUED_FRAMES = 256;
/** Frames one socket may have handled back to back before it yields to the event loop. */
const FRAMES_PER_TURN = 32;
/** The errors of a frame refused over the rate. */
const THROTTLED_ERRORS: readonly string[] = [MESSAGES.throttled];

/** What the input side needs from its session. */
export interface InboundHost {
  readonly socket: DcrfSocket;
  readonly limits: DcrfLimits;
  readonly observer: SessionObserver;
  readonly output: Outbound;
  readonly router: StreamRouter;
  /** True once the socket is closing or closed: no further frame is handled. */
  readonly closed: boolean;
  /** True once a graceful shutdown began: reading stays paused. */
  readonly draining: boolean;
  close(code: number, reason: string): void;
  /** Re-checks the socket's user before a frame: `true` when there is nothing to check. */
  checkUser(): UserCheckAnswer | Promise<UserCheckAnswer>;
  /** Takes a re-check's answer: true when the user is still active, false once the socket is being closed. */
  acceptUser(answer: UserCheckAnswer): boolean;
  /** Told when every frame read so far has been handled. */
  wakeIfIdle(): void;
}

export class Inbound {
  /** True while frames are being handled. */
  busy = false;
  /** Frames read while another was handled: their text, or null for a binary frame. Made on first use. */
  private queue: Array<string | null> | undefined;
  /** Characters of the queued frames' text: bounded by maxRetainedBytes as well as by count. */
  private queuedBytes = 0;
  private readonly rate: FrameRateLimiter;

  constructor(private readonly host: InboundHost) {
    const { ratePerSecond, rateBurst, throttleCloseMs } = host.limits;
    this.rate = new FrameRateLimiter(ratePerSecond, rateBurst, throttleCloseMs);
  }

  /** A frame arrived: handled now, or queued behind the one being handled. */
  receive(text: string | null): void {
    const host = this.host;
    host.observer.frameIn?.();
    if (!this.busy) {
      void this.process(text);
      return;
    }
    const queue = (this.queue ??= []);
    queue.push(text);
    this.queuedBytes += text?.length ?? 0;
    // A client that sends faster than its actions finish must not grow this queue without bound, in
    // frames or in bytes: stop reading until it drains, so the kernel's TCP window slows the sender instead.
    if ((queue.length >= MAX_QUEUED_FRAMES || this.queuedBytes > host.limits.maxRetainedBytes) && !host.socket.isPaused) {
      host.observer.limitHit?.('inbound_queue');
      host.socket.pause();
    }
  }

  /** Forgets the frames not yet handled (the socket closed). */
  clear(): void {
    this.queue = undefined;
    this.queuedBytes = 0;
  }

  private async process(first: string | null): Promise<void> {
    const host = this.host;
    const output = host.output;
    this.busy = true;
    output.holding = true;
    let next: string | null | undefined = first;
    let handled = 0;
    while (next !== undefined && !host.closed) {
      // Actions that finish without I/O (cached reads) never leave the microtask queue: after a run
      // of them, let other sockets' I/O in so one fast client cannot starve the rest.
      if (++handled % FRAMES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
      try {
        // Most frames' handling is one promise (the consumer's); a frame refused here is none.
        const handling = this.handle(next);
        if (handling) await handling;
      } catch (error) {
        logger.error('frame handling failed', { error: String((error as Error)?.stack ?? error) });
      }
      output.flushHeld();
      next = this.queue?.shift();
      if (next !== undefined) this.queuedBytes -= next?.length ?? 0;
      if (host.socket.isPaused && !host.closed && !host.draining && this.drainedEnough()) host.socket.resume();
    }
    this.busy = false;
    output.holding = false;
    output.flushHeld();
    host.wakeIfIdle();
  }

  /** Whether a paused socket may read again: the queue is down to half its bounds. */
  private drainedEnough(): boolean {
    return (this.queue?.length ?? 0) < MAX_QUEUED_FRAMES / 2 && this.queuedBytes <= this.host.limits.maxRetainedBytes / 2;
  }

  /**
   * Handles one frame: the rate, the user re-check, then its consumer. Not an async function: a frame
   * costs the promise of its consumer's answer only, not one more around it.
   */
  private handle(text: string | null): Promise<void> | undefined {
    const host = this.host;
    if (!this.rate.take()) {
      this.refuseOverRate(text);
      return undefined;
    }
    // A fresh cached answer is synchronous: only a re-read costs an await.
    const answer = host.checkUser();
    if (answer === true) return this.dispatch(text);
    if (answer instanceof Promise) return answer.then((user) => (host.acceptUser(user) ? this.dispatch(text) : undefined));
    return host.acceptUser(answer) ? this.dispatch(text) : undefined;
  }

  /** Parses a frame and hands it to the router; an unreadable one is answered 400 here. */
  private dispatch(text: string | null): Promise<void> | undefined {
    const host = this.host;
    let content: Record<string, unknown>;
    try {
      if (text === null) throw new BadRequest(MESSAGES.binaryFrame);
      content = parseObject(text, host.limits.maxDepth);
    } catch (error) {
      host.router.refuse(null, (error as APIError).status, (error as APIError).detail);
      return undefined;
    }
    return host.router.dispatch(content);
  }

  /** 429 for a frame over the rate, or the close once the excess has lasted past `throttleCloseMs`. */
  private refuseOverRate(text: string | null): void {
    const host = this.host;
    host.observer.throttled?.();
    if (this.rate.refused()) {
      host.observer.limitHit?.('rate_close');
      host.close(SESSION_CLOSE.rateLimited.code, SESSION_CLOSE.rateLimited.reason);
      return;
    }
    let content: Record<string, unknown> | null = null;
    try {
      if (text) content = parseObject(text, host.limits.maxDepth);
    } catch {
      // Unreadable and over the rate: the throttle reply still says why.
    }
    host.router.refuse(content, STATUS.throttled, THROTTLED_ERRORS);
  }
}
