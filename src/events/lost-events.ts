/**
 * Reports change messages the PubSub refused. An outage can refuse thousands of messages a second,
 * so the first one of a burst is logged at once (with its topic and the reason) and the rest are
 * summed into one line per interval: loud enough to be seen, never a log flood.
 */
import { logger } from '../logger.js';

export class LostEventReporter {
  private pending = 0;
  private lastTopic = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 1000) {}

  report(topic: string, error: unknown): void {
    if (this.timer === undefined) {
      logger.error('event lost: the PubSub refused it', { topic, lost: 1, error: String((error as Error)?.message ?? error) });
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
      return;
    }
    this.pending++;
    this.lastTopic = topic;
  }

  private flush(): void {
    this.timer = undefined;
    if (this.pending === 0) return;
    logger.error('events lost: the PubSub refused them', { lost: this.pending, lastTopic: this.lastTopic });
    this.pending = 0;
    // Keep summarising while the outage lasts.
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }
}
