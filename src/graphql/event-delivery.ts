/**
 * Delivering a subscription's events to one socket. graphql-js would execute the selection for every
 * subscriber and graphql-ws would then validate and stringify a message per subscriber, behind a few
 * promise hops each; with thousands of subscribers of the same event that is most of the fan-out's CPU.
 * Here an event's result is executed and encoded once per (event, document, variables, operation,
 * user) in the process, and each subscriber only wraps the shared JSON in its own frame and sends it.
 *
 * An `EventDelivery` stands where the subscription's result iterator would: the transport iterates it
 * like any subscription result, but it yields nothing; it finishes when the source ends, throws when
 * the source fails or the client falls behind (SLOW_CONSUMER), and its `return()` stops the source.
 */
import { execute, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import { formatResult, SubscriptionOverflow } from './errors.js';
import { LiveStream, type StreamReceiver } from './live-stream.js';
import { SharedUtf8 } from '../text-frames.js';
import { SocketOutput } from './socket-output.js';

/** How a transport frames and sends one result. */
export interface DeliveryTarget {
  /** The whole frame for a result whose `payload` JSON is given. */
  frame(payloadJson: string): string;
  /**
   * Sends a frame. A target without `drained` calls `flushed` once the frame left the process (or
   * could not be sent); a target with it is sent no callback.
   */
  send(frame: string, flushed?: () => void): void;
  /**
   * Whether everything sent so far has left the process (nothing buffered or held for this socket).
   * With it, a subscription counts as unflushed the frames it sent since its socket was last seen
   * drained, instead of asking for a callback per frame (a write callback per subscriber per event is
   * a large share of a fan-out's CPU).
   */
  drained?(): boolean;
}

/**
 * `{"id":<id>,"type":<type>,"payload":<result>}` frames of operation `id`, sent through a socket's
 * SocketOutput (bounded, after its user re-check) or straight on a `ws` socket (dropped once it closes).
 */
export function socketTarget(socket: SocketOutput | WebSocket, id: string, type: string): DeliveryTarget {
  const prefix = `{"id":${JSON.stringify(id)},"type":${JSON.stringify(type)},"payload":`;
  if (socket instanceof SocketOutput) return new OutputTarget(socket, prefix);
  const frame = (payload: string) => `${prefix}${payload}}`;
  return {
    frame,
    send: (text) => {
      if (socket.readyState === socket.OPEN) socket.send(text);
    },
    drained: () => socket.bufferedAmount === 0,
  };
}

/**
 * A SocketOutput's target. An EventDelivery given one reads its output and prefix into itself and sends
 * through them directly (one object fewer read per subscriber per event).
 */
class OutputTarget implements DeliveryTarget {
  /** The prefix as UTF-8, when the output writes whole frames itself (SocketOutput.frameStream). */
  readonly prefixBytes: Buffer | undefined;

  constructor(
    readonly output: SocketOutput,
    readonly prefix: string,
  ) {
    this.prefixBytes = output.frameStream ? Buffer.from(prefix) : undefined;
  }

  frame(payload: string): string {
    return `${this.prefix}${payload}}`;
  }

  send(frame: string): void {
    this.output.sendEvent(frame);
  }

  drained(): boolean {
    return this.output.drained;
  }
}

export interface DeliveryOptions {
  /**
   * Results still being executed, or sent and not yet flushed (with a target that says when it is
   * drained: sent since it last was), past which the subscription ends with SLOW_CONSUMER.
   */
  maxPending: number;
  /** Share each event's encoded result with the other subscribers of the same operation and user. */
  share: boolean;
}

type Encoded = string | Promise<string>;

/** The `}` ending an event's frame after its payload (see socketTarget). */
const CLOSE_BRACE = Buffer.from('}');

/**
 * The encoded results that subscribers of one document share: those who would get the same result
 * for every event (same operation, variables and user, see `shareKey`). Every subscriber of a group
 * reads this one object, so at thousands of subscribers it stays in cache where a lookup by a key
 * string of each subscriber's own would read that string too. The last event's result is at hand; the
 * others (a subscriber whose events waited for an async check) are kept weakly by their event.
 */
class SharedResults {
  /** Deliveries using this group; it is forgotten when none is left. */
  users = 0;
  private lastEvent: object | undefined;
  private lastEncoded: Encoded | undefined;
  private older: WeakMap<object, Encoded> | undefined;
  /** The last result as bytes, encoded once for every subscriber writing whole frames. */
  readonly bytes = new SharedUtf8();

  constructor(
    private readonly groups: Map<string, SharedResults>,
    private readonly key: string,
  ) {}

  resultFor(args: ExecutionArgs, event: object): Encoded {
    if (event === this.lastEvent) return this.lastEncoded!;
    let encoded = this.older?.get(event);
    if (encoded === undefined) {
      encoded = executeEncoded(args, event);
      (this.older ??= new WeakMap()).set(event, encoded);
    }
    this.lastEvent = event;
    this.lastEncoded = encoded;
    return encoded;
  }

  release(): void {
    if (--this.users === 0 && this.groups.get(this.key) === this) {
      this.groups.delete(this.key);
      openGroups--;
    }
  }
}

/** Share groups per document (the cache hands every subscriber of the same text the same document). */
const sharedResults = new WeakMap<DocumentNode, Map<string, SharedResults>>();

/** Share groups in use in this process, all documents together. */
let openGroups = 0;

/** How many share groups subscriptions in this process hold now (what a test of their release reads). */
export function openShareGroups(): number {
  return openGroups;
}

/** The share group of a subscription's arguments, counted as used until `release()`. */
function sharedResultsOf(args: ExecutionArgs): SharedResults {
  let groups = sharedResults.get(args.document);
  if (!groups) sharedResults.set(args.document, (groups = new Map()));
  const key = shareKey(args);
  let group = groups.get(key);
  if (!group) {
    groups.set(key, (group = new SharedResults(groups, key)));
    openGroups++;
  }
  group.users++;
  return group;
}

/** What makes two subscriptions of one document get the same result for an event: the operation, its variables, the user. */
export function shareKey(args: ExecutionArgs): string {
  const context = args.contextValue as { scope?: { user?: { id?: unknown } | null } } | undefined;
  const user = context?.scope?.user;
  const viewer = user ? `u${JSON.stringify(user.id ?? null)}` : 'anon';
  return `${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? null)}\u0000${viewer}`;
}

function encode(result: ExecutionResult): string {
  return JSON.stringify(
    result.errors ? formatResult(result) : { data: result.data, ...(result.extensions ? { extensions: result.extensions } : {}) },
  );
}

/** Executes the subscription's selection with `event` as its root, encoded as JSON. */
function executeEncoded(args: ExecutionArgs, event: unknown): Encoded {
  const result = execute({ ...args, rootValue: event });
  return result instanceof Promise ? result.then(encode) : encode(result);
}

export class EventDelivery implements AsyncGenerator<never, undefined, unknown>, StreamReceiver<unknown> {
  private readonly maxPending: number;
  private readonly share: boolean;
  /** The results this subscription shares, from its start to its end (undefined when results are not shared). */
  private shared: SharedResults | undefined;
  /** The target's SocketOutput and frame prefix when it is a SocketOutput's (see OutputTarget). */
  private readonly output: SocketOutput | undefined;
  private readonly prefix: string = '';
  /** The prefix as UTF-8 when the output writes whole frames (see OutputTarget). */
  private readonly prefixBytes: Buffer | undefined;
  private started = false;
  private ended = false;
  /** Results delivered and not yet sent (still executing), plus, for a target without `drained`, sent and not yet flushed. */
  private pending = 0;
  /** Frames sent since the target was last seen drained (targets with `drained` only). */
  private unflushed = 0;
  /** The last result still being executed asynchronously; later frames wait behind it. */
  private tail: Promise<void> | undefined;
  private settle: ((result: IteratorResult<never, undefined>) => void) | undefined;
  private reject: ((error: unknown) => void) | undefined;
  private failure: unknown;
  private readonly flushed = () => {
    this.pending--;
  };

  constructor(
    private readonly source: AsyncIterable<unknown>,
    private readonly args: ExecutionArgs,
    private readonly target: DeliveryTarget,
    options: DeliveryOptions,
  ) {
    this.maxPending = options.maxPending;
    this.share = options.share;
    if (target instanceof OutputTarget) {
      this.output = target.output;
      this.prefix = target.prefix;
      this.prefixBytes = target.prefixBytes;
    }
  }

  /** Runs until the source ends (resolves done), fails (rejects) or `return()` is called. */
  next(): Promise<IteratorResult<never, undefined>> {
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    const running = new Promise<IteratorResult<never, undefined>>((resolve, reject) => {
      this.settle = resolve;
      this.reject = reject;
    });
    if (!this.started) {
      this.started = true;
      this.start();
    }
    return running;
  }

  return(): Promise<IteratorResult<never, undefined>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<never, undefined>> {
    this.end();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.end();
  }

  private start(): void {
    if (this.share) this.shared = sharedResultsOf(this.args);
    if (this.source instanceof LiveStream) {
      this.source.attachReceiver(this);
      return;
    }
    void this.pump();
  }

  /** Any other async iterable: read it one event at a time. */
  private async pump(): Promise<void> {
    try {
      for await (const event of this.source) {
        if (this.ended) return;
        this.deliver(event);
      }
      // Done once the results still being executed have gone out.
      const tail = this.tail;
      if (tail) void tail.then(() => this.end());
      else this.end();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Whether the target has sent everything so far (undefined: it does not say). */
  private drained(): boolean | undefined {
    return this.output ? this.output.drained : this.target.drained?.();
  }

  /** One event of the source (a LiveStream hands them here as they come). */
  deliver(event: unknown): void {
    if (this.ended) return;
    if (this.unflushed && this.drained()) this.unflushed = 0;
    // Counted from here rather than from the send: results still being executed (async resolvers) wait too.
    if (this.pending + this.unflushed >= this.maxPending) {
      this.failNow(new SubscriptionOverflow());
      return;
    }
    let encoded: Encoded;
    try {
      encoded = this.encoded(event);
    } catch (error) {
      // A result that cannot be encoded (a BigInt, say) ends this subscription, not the publisher's loop.
      this.failNow(error);
      return;
    }
    this.pending++;
    if (typeof encoded === 'string' && !this.tail) {
      // The target's drained state was just read (when it mattered): not asked again.
      this.send(encoded, false);
      return;
    }
    const previous = this.tail ?? Promise.resolve();
    const next = previous
      .then(() => encoded)
      .then(
        (json) => this.send(json),
        (error: unknown) => this.failNow(error),
      );
    this.tail = next;
    void next.then(() => {
      if (this.tail === next) this.tail = undefined;
    });
  }

  private encoded(event: unknown): Encoded {
    if (!this.shared || event === null || typeof event !== 'object') return executeEncoded(this.args, event);
    return this.shared.resultFor(this.args, event);
  }

  /**
   * Sends a result counted in `pending` at delivery: now uncounted, or (without `drained`) once flushed.
   * `recheck`: whether the target may have drained since `deliver` looked (a result sent later).
   */
  private send(json: string, recheck = true): void {
    if (this.ended) return;
    const output = this.output;
    if (output) {
      this.pending--;
      if (recheck && this.unflushed && output.drained) this.unflushed = 0;
      this.unflushed++;
      const prefixBytes = this.prefixBytes;
      if (prefixBytes) output.sendEventBytes(prefixBytes, this.shared ? this.shared.bytes.of(json) : Buffer.from(json), CLOSE_BRACE);
      else output.sendEvent(`${this.prefix}${json}}`);
      return;
    }
    const frame = this.target.frame(json);
    if (!this.target.drained) {
      this.target.send(frame, this.flushed);
      return;
    }
    this.pending--;
    if (recheck && this.unflushed && this.target.drained()) this.unflushed = 0;
    this.unflushed++;
    this.target.send(frame);
  }

  /**
   * The source failed (a RESYNC, say): the subscription ends with the error, after the results of the
   * events before it that are still being executed (async resolvers) have gone out.
   */
  fail(error: unknown): void {
    const tail = this.tail;
    if (tail && !this.ended && !(error instanceof SubscriptionOverflow)) {
      void tail.then(() => this.failNow(error));
      return;
    }
    this.failNow(error);
  }

  /** Ends the subscription with an error now (the client fell behind, a result failed, the source failed). */
  private failNow(error: unknown): void {
    if (this.ended) return;
    this.stop();
    if (this.reject) {
      const reject = this.reject;
      this.settle = this.reject = undefined;
      reject(error);
    } else this.failure = error;
  }

  private end(): void {
    if (this.ended) return;
    this.stop();
    const settle = this.settle;
    this.settle = this.reject = undefined;
    settle?.({ value: undefined, done: true });
  }

  private stop(): void {
    this.ended = true;
    this.shared?.release();
    this.shared = undefined;
    const source = this.source as Partial<AsyncIterator<unknown>>;
    if (typeof source.return === 'function') void Promise.resolve(source.return()).catch(() => undefined);
  }
}
