/**
 * Writes that read nothing because nobody in the process listened to their model when they began.
 * A subscription to that model that starts meanwhile waits for them to end (commit or roll back)
 * before it counts as live: otherwise such a write could commit after the subscriber's 201 without an
 * event, breaking "a write committed after the 201 is delivered". The wait is bounded, so a
 * transaction that itself waits for the subscription cannot hang it.
 */
import { logger } from '../logger.js';

/** How long a new subscription waits at most for writes that began unobserved. */
export const UNOBSERVED_WRITE_WAIT_MS = 5_000;

export class UnobservedWrites {
  /** Per model: each pending write's end (a transaction's writes share its one end). */
  private readonly pending = new Map<string, Map<Promise<unknown>, Promise<void>>>();

  /** Records a write of `model` that captured nothing; `done` settles when it committed or rolled back. */
  track(model: string, done: Promise<unknown>): void {
    let ends = this.pending.get(model);
    if (!ends) this.pending.set(model, (ends = new Map()));
    if (ends.has(done)) return;
    const own = ends;
    const settled: Promise<void> = done.then(
      () => undefined,
      () => undefined,
    );
    own.set(done, settled);
    void settled.then(() => {
      own.delete(done);
      if (own.size === 0 && this.pending.get(model) === own) this.pending.delete(model);
    });
  }

  /** Resolves once every write of `model` tracked so far has ended (or after the bound). */
  async settled(model: string, maxWaitMs = UNOBSERVED_WRITE_WAIT_MS): Promise<void> {
    const ends = this.pending.get(model);
    if (!ends || ends.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), maxWaitMs);
      timer.unref();
    });
    const outcome = await Promise.race([Promise.all([...ends.values()]), bound]);
    clearTimeout(timer);
    if (outcome === 'timeout') logger.warn('subscription went live before unobserved writes ended', { model, waitedMs: maxWaitMs });
  }

  /** Writes still open, per model (for tests and diagnostics). */
  count(model: string): number {
    return this.pending.get(model)?.size ?? 0;
  }
}
