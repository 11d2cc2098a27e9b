/**
 * The event stream behind one GraphQL subscription: a bounded queue between the PubSub (which never
 * waits) and the socket (which may). Policy when a client reads slower than events arrive: once
 * `maxQueued` events wait, the subscription ends with a SLOW_CONSUMER error (sent as `error` for that
 * operation; the socket stays open and the client may subscribe again and re-read the state). Dropping
 * events silently would leave the client with a state it cannot know is wrong.
 *
 * Read with `next()` (an async iterator, for any consumer), or `attach()`ed: the WebSocket transports
 * attach an EventDelivery, which takes each event as it is pushed and bounds the frames the socket has
 * not flushed yet instead.
 */
import { Throttled } from '../errors.js';
import { SubscriptionOverflow } from './errors.js';

/** Counts a connection's live subscriptions against its limit. */
export class StreamBudget {
  active = 0;
  constructor(
    readonly max: number,
    /** Events one subscription may have waiting (see LiveStream). */
    readonly maxQueued = 1000,
  ) {}

  /** Takes one slot; Throttled (429) when the connection holds its maximum. */
  acquire(): () => void {
    if (this.active >= this.max) throw new Throttled(`Too many subscriptions on this connection (at most ${this.max}).`);
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
    };
  }
}

type Close = () => void;

/** Where an attached stream hands its values, instead of waiting for `next()` calls. */
export interface StreamSink<T> {
  next(value: T): void;
  error(error: unknown): void;
}

/**
 * What an attached stream hands its values to inside the package: an EventDelivery takes them itself
 * (one object read per subscriber per event, where a sink wrapping it would be two).
 */
export interface StreamReceiver<T> {
  deliver(value: T): void;
  fail(error: unknown): void;
}

/** A StreamSink as a receiver. */
class SinkReceiver<T> implements StreamReceiver<T> {
  constructor(private readonly sink: StreamSink<T>) {}

  deliver(value: T): void {
    this.sink.next(value);
  }

  fail(error: unknown): void {
    this.sink.error(error);
  }
}

export class LiveStream<T> implements AsyncGenerator<T, undefined, unknown> {
  private readonly queue: T[] = [];
  private waiter: ((result: IteratorResult<T, undefined>) => void) | undefined;
  private failWaiter: ((error: unknown) => void) | undefined;
  private failure: unknown;
  private done = false;
  private closers: Close[] = [];
  private receiver: StreamReceiver<T> | undefined;

  constructor(private readonly maxQueued: number) {}

  /** Adds what to run when the stream ends (unsubscribing from topics, freeing the budget slot). */
  onClose(close: Close): void {
    if (this.done) close();
    else this.closers.push(close);
  }

  /** Hands an event to the reader, or queues it; ends the stream when the queue is full. */
  push(value: T): void {
    if (this.done) return;
    if (this.receiver) {
      this.receiver.deliver(value);
      return;
    }
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = this.failWaiter = undefined;
      waiter({ value, done: false });
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.fail(new SubscriptionOverflow());
      return;
    }
    this.queue.push(value);
  }

  /** Ends the stream now with an error (queued events are dropped: the error says the client fell behind). */
  fail(error: unknown): void {
    if (this.done) return;
    this.queue.length = 0;
    this.finish();
    if (this.receiver) {
      this.receiver.fail(error);
      return;
    }
    this.failure = error;
    if (this.failWaiter) {
      const fail = this.failWaiter;
      this.waiter = this.failWaiter = undefined;
      fail(error);
    }
  }

  private finish(): void {
    this.done = true;
    const closers = this.closers;
    this.closers = [];
    for (const close of closers) close();
  }

  /**
   * Push mode: hands the queued values, then every later one, straight to `sink` (no promise per
   * value). A stream that already failed reports its error to `sink` at once.
   */
  attach(sink: StreamSink<T>): void {
    this.attachReceiver(new SinkReceiver(sink));
  }

  /** `attach` for a receiver of the package's own (an EventDelivery). */
  attachReceiver(receiver: StreamReceiver<T>): void {
    const queued = this.queue.splice(0);
    const failure = this.failure;
    this.failure = undefined;
    for (const value of queued) receiver.deliver(value);
    if (failure !== undefined) receiver.fail(failure);
    else if (!this.done) this.receiver = receiver;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.queue.length) return Promise.resolve({ value: this.queue.shift() as T, done: false });
    if (this.failure !== undefined) {
      const error = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.receiver = undefined;
    this.queue.length = 0;
    this.failure = undefined;
    if (!this.done) this.finish();
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = this.failWaiter = undefined;
      waiter({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T, undefined>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}

/**
 * Opens a stream for a subscription resolver: takes a budget slot, runs `open` (which subscribes to
 * topics and resolves once they are live) and ties its unsubscribers to the stream's end. `open` gets
 * `push` for each value and `fail`, which ends the subscription with an error (e.g. RESYNC).
 */
export function openLiveStream<T>(
  budget: StreamBudget,
  open: (push: (value: T) => void, fail: (error: unknown) => void) => Promise<Close | Close[]>,
): Promise<LiveStream<T>> {
  return openLiveStreamOf(budget, (stream) =>
    open(
      (value) => stream.push(value),
      (error) => stream.fail(error),
    ),
  );
}

/** `openLiveStream` whose `open` gets the stream itself (its `push` and `fail`, for a sink object of its own). */
export async function openLiveStreamOf<T>(
  budget: StreamBudget,
  open: (stream: LiveStream<T>) => Promise<Close | Close[]>,
): Promise<LiveStream<T>> {
  const release = budget.acquire();
  const stream = new LiveStream<T>(budget.maxQueued);
  stream.onClose(release);
  try {
    const closers = await open(stream);
    for (const close of Array.isArray(closers) ? closers : [closers]) stream.onClose(close);
  } catch (error) {
    await stream.return();
    throw error;
  }
  return stream;
}
