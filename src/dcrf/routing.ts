/**
 * Which consumer gets a frame: the one consumer of `/ws/<stream>` (bare frames), or on the multiplexer
 * (`{"stream", "payload"}` both ways) the stream's consumer, made on first use; the multiplexer's own
 * errors; and the transport through which each consumer talks to its socket.
 */
import { PermissionDenied } from '../errors.js';
import { logger } from '../logger.js';
import { type ConnectionScope, scopeForStream } from '../scope.js';
import { AsyncAPIConsumer, type ConsumerClass, type ConsumerTransport } from './consumer.js';
import type { Outbound } from './outbound.js';
import { encodeError, encodeReply, encodeValue, MESSAGES, STATUS } from './protocol.js';

/** Where a socket's frames go: one stream, or every stream behind the multiplexer (`refused`: canConnect said no). */
export type DcrfRoute =
  | { kind: 'single'; stream: string; consumer: ConsumerClass }
  | { kind: 'multiplex'; streams: ReadonlyMap<string, ConsumerClass>; refused: ReadonlySet<string> };

/**
 * The route a socket with `scope` gets once each consumer's `canConnect` was asked; undefined when the
 * socket may not open (403): its one stream refuses, or every stream of the multiplexer does.
 */
export async function connectRoute(route: DcrfRoute, scope: ConnectionScope): Promise<DcrfRoute | undefined> {
  if (route.kind === 'single') return (await route.consumer.canConnect(scope)) ? route : undefined;
  const refused = new Set<string>();
  for (const [name, consumer] of route.streams) if (!(await consumer.canConnect(scope))) refused.add(name);
  if (refused.size === route.streams.size && refused.size > 0) return undefined;
  return { ...route, refused };
}

/** What the consumers' transports need from their session. */
export interface RouterHost {
  readonly scope: ConnectionScope;
  readonly output: Outbound;
  /** Aborted when the socket closes. */
  readonly signal: AbortSignal;
  readonly maxKeyBytes: number;
  close(code?: number, reason?: string): void;
  reserveSubscription(count?: number, bytes?: number): boolean;
  releaseSubscription(count?: number, bytes?: number): void;
  reserveDetached(): boolean;
  releaseDetached(): void;
  keyFits(bytes: number): boolean;
  actionCompleted(stream: string, action: string, status: number | null): void;
}

export class StreamRouter {
  /** A single-stream socket's consumer. */
  private single: AsyncAPIConsumer | undefined;
  /** A multiplexed socket's consumers by stream, made on first use (a Map per idle socket adds up). */
  private consumers: Map<string, AsyncAPIConsumer> | undefined;

  constructor(
    private readonly host: RouterHost,
    readonly route: DcrfRoute,
  ) {}

  /**
   * Opens the consumer of a single-stream socket (a multiplexed socket's open on first use). One that
   * does nothing on connect and disconnect is made with the socket's first frame instead: an idle
   * socket then holds no consumer.
   */
  async open(): Promise<void> {
    const route = this.route;
    if (route.kind !== 'single' || !opensAtConnect(route)) return;
    await this.consumerFor(route.stream, route.consumer).onConnect();
  }

  /** Hands a parsed frame to its consumer; resolves once it answered (a detached action may still run). */
  dispatch(content: Record<string, unknown>): Promise<void> | undefined {
    const route = this.route;
    if (route.kind === 'single') return this.consumerFor(route.stream, route.consumer).receiveJson(content);
    const { stream, payload } = content;
    if (typeof stream !== 'string' || payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      const request = payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
      const reply = encodeReply(request.action ?? null, null, STATUS.badRequest, request.request_id ?? null, [MESSAGES.multiplexShape]);
      this.host.output.write(wrap(stream ?? null, reply));
      return;
    }
    const body = payload as Record<string, unknown>;
    const consumerClass = route.streams.get(stream);
    if (!consumerClass) {
      const reply = encodeReply(body.action ?? null, null, STATUS.badRequest, body.request_id ?? null, [MESSAGES.unknownStream(stream)]);
      this.host.output.write(wrap(stream, reply));
      return;
    }
    if (route.refused.has(stream)) {
      this.host.output.write(wrap(stream, encodeError(body.action ?? null, body.request_id ?? null, new PermissionDenied())));
      return;
    }
    const consumer = this.consumers?.get(stream);
    return consumer ? consumer.receiveJson(body) : this.openAndDispatch(stream, consumerClass, body);
  }

  /**
   * Answers a frame refused before it reached a consumer (unreadable, over the rate) in the route's
   * envelope, echoing what `content` says of its stream, action and request id (null when unreadable).
   */
  refuse(content: Record<string, unknown> | null, status: number, errors: readonly unknown[]): void {
    let request = content;
    let stream: unknown = null;
    if (this.route.kind === 'multiplex') {
      stream = content?.stream ?? null;
      const payload = content?.payload;
      request = payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : null;
    }
    const reply = encodeReply(request?.action ?? null, null, status, request?.request_id ?? null, errors);
    this.host.output.write(this.route.kind === 'multiplex' ? wrap(stream, reply) : reply);
  }

  /** Gives a re-read user to every consumer's scope (a multiplexed socket's consumers hold copies). */
  adoptUser(user: NonNullable<ConnectionScope['user']>): void {
    for (const consumer of this.consumers?.values() ?? []) consumer.scope.user = user;
  }

  /** Tells every consumer the socket closed: their subscriptions end and detached actions are cancelled. */
  async disconnect(): Promise<void> {
    const consumers = this.single ? [this.single] : [...(this.consumers?.values() ?? [])];
    // Started together: each disconnect cancels its detached actions before its first await, so none
    // of them keeps working for a socket that is gone while another consumer's onDisconnect runs.
    await Promise.all(
      consumers.map((consumer) =>
        consumer.disconnect().catch((error: unknown) => logger.error('disconnect failed', { error: String(error) })),
      ),
    );
    this.consumers?.clear();
  }

  private async openAndDispatch(stream: string, consumerClass: ConsumerClass, body: Record<string, unknown>): Promise<void> {
    const consumer = this.consumerFor(stream, consumerClass);
    await consumer.onConnect();
    await consumer.receiveJson(body);
  }

  private consumerFor(stream: string, consumerClass: ConsumerClass): AsyncAPIConsumer {
    const multiplexed = this.route.kind === 'multiplex';
    let consumer = multiplexed ? this.consumers?.get(stream) : this.single;
    if (consumer) return consumer;
    // A single-stream socket's scope is its own (the gateway builds one per upgrade): no copy needed.
    const scope = multiplexed ? scopeForStream(this.host.scope, stream) : Object.assign(this.host.scope, { stream });
    consumer = new consumerClass(
      new StreamTransport(this.host, scope, multiplexed ? `{"stream":${JSON.stringify(stream)},"payload":` : ''),
    );
    if (multiplexed) (this.consumers ??= new Map()).set(stream, consumer);
    else this.single = consumer;
    return consumer;
  }
}

/**
 * One consumer's transport: a small object over its session (one per stream of a socket) rather than
 * a bag of closures, which idle sockets would pay for in memory.
 */
class StreamTransport implements ConsumerTransport {
  /** The session's output, kept at its first event: events then skip the session object on their way out. */
  private eventOutput: Outbound | undefined;
  /** `prefix` as UTF-8, made at the first event sent as bytes. */
  private prefixBytes: Buffer | undefined;

  constructor(
    private readonly host: RouterHost,
    readonly scope: ConnectionScope,
    /** `{"stream":S,"payload":` on a multiplexed socket, empty on a single-stream one. */
    private readonly prefix: string,
  ) {}

  get signal(): AbortSignal {
    return this.host.signal;
  }

  sendReply(text: string, onSent?: () => void): void {
    this.host.output.write(this.prefix ? `${this.prefix}${text}}` : text, onSent);
  }

  sendEvent(text: string): void {
    (this.eventOutput ??= this.host.output).sendEvent(this.prefix ? `${this.prefix}${text}}` : text);
  }

  eventTailBytes(text: string): Buffer | undefined {
    if (!this.host.output.frameStream) return undefined;
    return Buffer.from(this.prefix ? `${text}}` : text);
  }

  sendEventBytes(body: Buffer, tail: Buffer): void {
    (this.eventOutput ??= this.host.output).sendEventBytes((this.prefixBytes ??= Buffer.from(this.prefix)), body, tail);
  }

  close(code?: number, reason?: string): void {
    this.host.close(code, reason);
  }

  reserveSubscription(count?: number, bytes?: number): boolean {
    return this.host.reserveSubscription(count, bytes);
  }

  releaseSubscription(count?: number, bytes?: number): void {
    this.host.releaseSubscription(count, bytes);
  }

  reserveDetached(): boolean {
    return this.host.reserveDetached();
  }

  releaseDetached(): void {
    this.host.releaseDetached();
  }

  get maxKeyBytes(): number {
    return this.host.maxKeyBytes;
  }

  keyFits(bytes: number): boolean {
    return this.host.keyFits(bytes);
  }

  actionCompleted(action: string, status: number | null): void {
    this.host.actionCompleted(this.scope.stream as string, action, status);
  }
}

/**
 * Whether a socket's consumer is made when it opens: a single-stream socket whose consumer does
 * something on connect or disconnect (the base class's hooks do nothing). Others are made on first use.
 */
export function opensAtConnect(route: DcrfRoute): boolean {
  if (route.kind !== 'single') return false;
  const base = AsyncAPIConsumer.prototype;
  const own = route.consumer.prototype;
  return own.onConnect !== base.onConnect || own.onDisconnect !== base.onDisconnect;
}

/** A multiplexed frame: the payload's text inside `{"stream", "payload"}`. */
function wrap(stream: unknown, payloadText: string): string {
  return `{"stream":${encodeValue(stream)},"payload":${payloadText}}`;
}
