/**
 * A socket's frame rate limit (docs/limits-and-security.md): a token bucket for the sustained rate and
 * its bursts, and the clock of continued excess after which the socket is closed.
 */

/** A gap this long without a refused frame ends a period of excess. */
const EXCESS_GAP_MS = 1000;

export class FrameRateLimiter {
  private tokens: number;
  private lastRefill = Date.now();
  private excessSince = 0;
  private lastRefused = 0;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly closeAfterMs: number,
  ) {
    this.tokens = burst;
  }

  /** True when a frame may pass now (and takes its token). */
  take(): boolean {
    const now = Date.now();
    const elapsed = now - this.lastRefill;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
      this.lastRefill = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /**
   * Records a refused frame; true once the excess has lasted past the close delay. Excess "continues"
   * while refused frames keep coming with no long gap, even if the refill lets a few frames through in
   * between (a client at twice the rate is in excess the whole time).
   */
  refused(): boolean {
    const now = Date.now();
    if (!this.excessSince || now - this.lastRefused > EXCESS_GAP_MS) this.excessSince = now;
    this.lastRefused = now;
    return now - this.excessSince > this.closeAfterMs;
  }
}
