/**
 * Re-checks, after connect, that a socket's user still exists and is active, with the authenticator's
 * optional `refresh(user)`, and keeps the re-read user: sockets replace their user with it, so
 * permissions see the roles the user has now, not those it had at connect. One answer per user is
 * shared by all of that user's sockets and cached for `maxAgeMs`, and at most one refresh per user is
 * in flight: with 10,000 sockets of one user that receive an event each, the database sees one query
 * per `maxAgeMs`, not 10,000.
 */
import type { AuthUser } from '../scope.js';
import type { Authenticator } from './authenticator.js';
import { logger } from '../logger.js';

interface Entry {
  /** The user as last read (as authenticated until the first re-read); null once gone or inactive. */
  user: AuthUser | null;
  checkedAt: number;
  pending?: Promise<AuthUser | null>;
}

export class UserRecheck {
  private readonly entries = new Map<string, Entry>();
  /** Entries at which the next prune runs: doubles past the survivors, so pruning costs O(1) per entry added. */
  private pruneAt = 10_000;

  constructor(
    private readonly authenticator: Authenticator & { refresh(user: AuthUser): Promise<AuthUser | null> },
    /** How long an answer is trusted; 0 asks again for every event and frame. */
    readonly maxAgeMs = 1000,
  ) {}

  /** A checker for an authenticator, or undefined when it cannot re-read users. */
  static for(authenticator: Authenticator | undefined, maxAgeMs?: number): UserRecheck | undefined {
    if (!authenticator?.refresh) return undefined;
    return new UserRecheck(authenticator as Authenticator & { refresh(user: AuthUser): Promise<AuthUser | null> }, maxAgeMs);
  }

  /**
   * The user as it is now: the last re-read (for the socket to adopt as its user), or null when it was
   * deleted or deactivated. At once while the cached answer is fresh; a promise when it must be re-read.
   */
  current = (user: AuthUser): AuthUser | null | Promise<AuthUser | null> => {
    const key = JSON.stringify(user.id ?? null);
    const now = Date.now();
    let entry = this.entries.get(key);
    if (entry && !entry.pending && now - entry.checkedAt < this.maxAgeMs) return entry.user;
    if (entry?.pending) return entry.pending;
    if (!entry) {
      entry = { user, checkedAt: 0 };
      this.entries.set(key, entry);
      this.prune(now);
    }
    const current = entry;
    current.pending = this.authenticator
      .refresh(user)
      .then(
        (fresh) => fresh,
        (error: unknown) => {
          // The database is down: keep the last answer rather than cut every socket off.
          logger.warn('user re-check failed', { user: String(user.id), error: String((error as Error)?.message ?? error) });
          return current.user;
        },
      )
      .then((fresh) => {
        current.user = fresh;
        current.checkedAt = Date.now();
        current.pending = undefined;
        return fresh;
      });
    return current.pending;
  };

  /** Whether the user may still act: `current` without the re-read user. */
  isActive = (user: AuthUser): boolean | Promise<boolean> => {
    const now = this.current(user);
    return now instanceof Promise ? now.then((fresh) => fresh !== null) : now !== null;
  };

  /** Records that `user` was just authenticated (at connect), so the first frame need not re-read it. */
  remember(user: AuthUser): void {
    const key = JSON.stringify(user.id ?? null);
    const entry = this.entries.get(key);
    if (entry?.pending) return;
    if (entry) {
      entry.user = user;
      entry.checkedAt = Date.now();
    } else {
      this.entries.set(key, { user, checkedAt: Date.now() });
      this.prune(Date.now());
    }
  }

  /** Drops stale answers now and then so users who left do not accumulate. */
  private prune(now: number): void {
    if (this.entries.size < this.pruneAt) return;
    for (const [key, entry] of this.entries) if (!entry.pending && now - entry.checkedAt > this.maxAgeMs * 10) this.entries.delete(key);
    this.pruneAt = Math.max(10_000, this.entries.size * 2);
  }
}
