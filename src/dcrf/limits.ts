/**
 * What a DCRF session is configured with: its per-socket limits, the counters it reports to, and the
 * re-check of its socket's user (docs/limits-and-security.md).
 */
import type { ConnectionScope } from '../scope.js';
import { DEFAULT_MAX_KEY_BYTES } from './protocol.js';

/** Per-socket limits. */
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
