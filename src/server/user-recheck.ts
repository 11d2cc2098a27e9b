/**
 * Re-checks, after connect, that a socket's user still exists and is active, with the authenticator's
 * optional `refresh(user)`. One answer per user is shared by all of that user's sockets and cached for
 * `maxAgeMs`, and at most one refresh per user is in flight: with 10,000 sockets of one user that
 * receive an event each, the database sees one query per `maxAgeMs`, not 10,000.
 */
import type { AuthUser } from '../scope.js';
import type { Authenticator } from './auth.js';
import { logger } from '../logger.js';

interface Entry {
  active: boolean;
  checkedAt: number;
  pending?: Promise<boolean>;
}

export class UserRecheck {
  private readonly entries = new Map<string, Entry>();

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

  /** True or false at once while the cached answer is fresh; a promise when the user must be re-read. */
  isActive = (user: AuthUser): boolean | Promise<boolean> => {
    const key = JSON.stringify(user.id ?? null);
    const now = Date.now();
    let entry = this.entries.get(key);
    if (entry && !entry.pending && now - entry.checkedAt < this.maxAgeMs) return entry.active;
    if (entry?.pending) return entry.pending;
    if (!entry) {
      entry = { active: true, checkedAt: 0 };
      this.entries.set(key, entry);
      this.prune(now);
    }
    const current = entry;
    current.pending = this.authenticator.refresh(user).then(
      (fresh) => Boolean(fresh),
      (error: unknown) => {
        // The database is down: keep the last answer rather than cut every socket off.
        logger.warn('user re-check failed', { user: current ? String(user.id) : undefined, error: String((error as Error)?.message ?? error) });
        return current.active;
      },
    ).then((active) => {
      current.active = active;
      current.checkedAt = Date.now();
      current.pending = undefined;
      return active;
    });
    return current.pending;
  };

  /** Records that `user` was just authenticated (at connect), so the first frame need not re-read it. */
  remember(user: AuthUser): void {
    const key = JSON.stringify(user.id ?? null);
    const entry = this.entries.get(key);
    if (entry?.pending) return;
    if (entry) {
      entry.active = true;
      entry.checkedAt = Date.now();
    } else {
      this.entries.set(key, { active: true, checkedAt: Date.now() });
      this.prune(Date.now());
    }
  }

  /** Drops stale answers now and then so users who left do not accumulate. */
  private prune(now: number): void {
    if (this.entries.size < 10_000) return;
    for (const [key, entry] of this.entries) if (!entry.pending && now - entry.checkedAt > this.maxAgeMs * 10) this.entries.delete(key);
  }
}
