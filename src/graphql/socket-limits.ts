/**
 * The per-socket limits a GraphQL socket shares with DCRF sockets (the gateway hands them over with
 * each socket, from the same settings: MAX_BUFFERED_BYTES, RATE_LIMIT_PER_SECOND, ...), and the
 * bookkeeping of what a client makes the server keep: messages read but not yet handled, and the
 * client-chosen bytes (ids, documents, variables) of its running and live operations.
 */
import { GraphQLError } from 'graphql';

/** A socket's rate limiter (the gateway's FrameRateLimiter). */
export interface RateLimiter {
  /** True when a message may pass now (and takes its token). */
  take(): boolean;
  /** Records a refused message; true once the excess has lasted past the close delay. */
  refused(): boolean;
}

/** The gateway counters a GraphQL socket reports to (a subset of the DCRF SessionObserver). */
export interface SocketObserver {
  throttled?(): void;
  slowConsumerClosed?(): void;
  limitHit?(limit: string): void;
  eventDropped?(reason: string): void;
}

/** What the gateway gives each GraphQL socket; the fields it leaves out keep DEFAULT_SOCKET_LIMITS. */
export interface GraphQLSocketLimits {
  /** A socket whose unsent output passes this many bytes is closed 1013 (MAX_BUFFERED_BYTES). */
  maxBufferedBytes?: number;
  /** Longest operation id in bytes (graphql-transport-ws: close 4400; legacy: an `error`). */
  maxKeyBytes?: number;
  /**
   * Client-chosen bytes one socket may make the server keep, counted twice over: by its running and
   * live operations (their messages: id, document, variables; beyond: THROTTLED for the operation)
   * and by its messages waiting to be handled (beyond: close 1008).
   */
  maxRetainedBytes?: number;
  /** This socket's rate limiter; none: no rate limit. */
  rate?: RateLimiter;
  observer?: SocketObserver;
}

export const DEFAULT_SOCKET_LIMITS = {
  maxBufferedBytes: 4 * 1024 * 1024,
  maxKeyBytes: 256,
  maxRetainedBytes: 1024 * 1024,
} as const;

/**
 * Close code and reason of continued excess over the rate: DCRF's 1008 (policy violation), which
 * graphql-ws clients treat as fatal (no retry loop); graphql-ws's own 4429 means a second connection_init.
 */
export const RATE_CLOSE = { code: 1008, reason: 'Rate limit exceeded' } as const;
/** Close code and reason of a socket with too many messages waiting to be handled. */
export const PENDING_CLOSE = { code: 1008, reason: 'Too many pending messages' } as const;

/** The error of an operation refused by the rate limit. */
export function rateLimitedError(): GraphQLError {
  return new GraphQLError('Request was throttled.', { extensions: { code: 'RATE_LIMITED', status: 429 } });
}

/** The error of an operation refused because the socket keeps `max` client bytes already. */
export function retainedError(max: number): GraphQLError {
  return new GraphQLError(`Too much operation state on this connection (at most ${max} bytes).`, {
    extensions: { code: 'THROTTLED', status: 429 },
  });
}

/**
 * Waits for the event loop's next turn. A socket's operations run one after another; yielding before
 * each lets other sockets' I/O in between, so one client sending many costly operations slows only itself.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Whether an operation id is longer than `max` bytes of UTF-8 (cost: at most `max` characters looked at). */
export function idTooLong(id: string, max: number): boolean {
  if (id.length > max) return true;
  // Each character is 1 to 3 bytes (a surrogate pair: 4 for 2), so only ids past max / 3 can be over.
  return id.length * 3 > max && Buffer.byteLength(id) > max;
}

/** One socket's limits in force, and the counts and bytes it holds against them. */
export class SocketBudget {
  readonly maxBufferedBytes: number;
  readonly maxKeyBytes: number;
  readonly maxRetainedBytes: number;
  readonly observer: SocketObserver;
  private readonly rate: RateLimiter | undefined;
  private pendingMessages = 0;
  private pendingBytes = 0;
  private retainedBytes = 0;

  constructor(
    limits: GraphQLSocketLimits = {},
    /** Messages one socket may have waiting to be handled (GraphQLLimits.maxPendingMessages). */
    private readonly maxPendingMessages = Number.POSITIVE_INFINITY,
  ) {
    this.maxBufferedBytes = limits.maxBufferedBytes ?? DEFAULT_SOCKET_LIMITS.maxBufferedBytes;
    this.maxKeyBytes = limits.maxKeyBytes ?? DEFAULT_SOCKET_LIMITS.maxKeyBytes;
    this.maxRetainedBytes = limits.maxRetainedBytes ?? DEFAULT_SOCKET_LIMITS.maxRetainedBytes;
    this.observer = limits.observer ?? {};
    this.rate = limits.rate;
  }

  /** The rate limit's answer to one more message: `ok`, `throttled` (refuse it), or `close` (continued excess). */
  admit(): 'ok' | 'throttled' | 'close' {
    if (!this.rate || this.rate.take()) return 'ok';
    this.observer.throttled?.();
    if (!this.rate.refused()) return 'throttled';
    this.observer.limitHit?.('rate_close');
    return 'close';
  }

  /** Counts a message waiting to be handled; false when the socket holds too many (in count or bytes). */
  queue(bytes: number): boolean {
    this.pendingMessages++;
    this.pendingBytes += bytes;
    if (this.pendingMessages <= this.maxPendingMessages && this.pendingBytes <= this.maxRetainedBytes) return true;
    this.observer.limitHit?.('inbound_queue');
    return false;
  }

  /** A waiting message's turn came. */
  dequeue(bytes: number): void {
    this.pendingMessages--;
    this.pendingBytes -= bytes;
  }

  /** Keeps an operation's bytes until `release`; false (nothing kept) when that would pass the budget. */
  retain(bytes: number): boolean {
    if (this.retainedBytes + bytes > this.maxRetainedBytes) {
      this.observer.limitHit?.('retained_bytes');
      return false;
    }
    this.retainedBytes += bytes;
    return true;
  }

  release(bytes: number): void {
    this.retainedBytes = Math.max(0, this.retainedBytes - bytes);
  }

  /** Whether an operation id is too long to be kept; a refusal is counted. */
  idRefused(id: string): boolean {
    if (!idTooLong(id, this.maxKeyBytes)) return false;
    this.observer.limitHit?.('key_length');
    return true;
  }
}
