/**
 * AsyncAPIConsumer: one instance per socket (per stream on a multiplexed socket). It routes each
 * frame to an action, checks permissions first, and answers in the DCRF envelope.
 */
import { APIError, MethodNotAllowed, PermissionDenied, Throttled, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { AllowAny, toPermissionList, type BasePermission, type PermissionLike } from '../permissions.js';
import type { Runtime } from '../runtime.js';
import type { ConnectionScope } from '../scope.js';
import { actionsOf, groupHandlersOf, type ActionContext, type ActionSpec } from './actions.js';
import { DEFAULT_MAX_KEY_BYTES, encodeError, encodeReply, encodeValue, MESSAGES, STATUS, type ActionResult } from './protocol.js';

/** How a consumer talks to its socket; the session (single or multiplexed) provides it. */
export interface ConsumerTransport {
  readonly scope: ConnectionScope;
  /**
   * Sends a reply now. `onSent`, when given, must run exactly once: when the frame has been handed to
   * the network, or at once when it was dropped.
   */
  sendReply(text: string, onSent?: () => void): void;
  /** Sends an event; the session holds it while an action of this socket runs, so the reply comes first. */
  sendEvent(text: string): void;
  /**
   * For an observer whose events share their text's start and end with its other subscribers: the
   * bytes that end this subscription's events (`text`, then what the transport closes its frames
   * with), made once at subscribe; undefined when events must go as text (`sendEvent`). Absent: always.
   */
  eventTailBytes?(text: string): Buffer | undefined;
  /** Sends an event whose text is `body` (bytes shared by every subscriber of it) then `tail` (from `eventTailBytes`). */
  sendEventBytes?(body: Buffer, tail: Buffer): void;
  /** Closes the whole socket. */
  close(code?: number, reason?: string): void;
  /** Aborted when the socket closes. */
  readonly signal: AbortSignal;
  /**
   * Counts `count` (default 1) subscriptions keeping `bytes` (default 0) client-chosen bytes against the
   * socket's limits; false when one would be passed.
   */
  reserveSubscription(count?: number, bytes?: number): boolean;
  releaseSubscription(count?: number, bytes?: number): void;
  /** Counts a detached action against the socket's limit; false when it is reached (absent: no limit). */
  reserveDetached?(): boolean;
  releaseDetached?(): void;
  /** Longest client-chosen key, in bytes of JSON (absent: `DEFAULT_MAX_KEY_BYTES`). */
  readonly maxKeyBytes?: number;
  /** Whether a client-chosen key of `bytes` may be kept; told so a refusal is counted. */
  keyFits?(bytes: number): boolean;
  /** Told once per answered action (for metrics); `status` null when the action sent no reply. */
  actionCompleted?(action: string, status: number | null): void;
}

/** The action label metrics use for a name the consumer does not have (client-chosen names would be unbounded). */
export const UNKNOWN_ACTION = '<unknown>';

/** What a tracked subscription counts against the socket's limits. */
export interface SubscriptionCost {
  /** Subscriptions it counts as; default 1 (0 for a topic whose request ids are counted one by one). */
  count?: number;
  /** Client-chosen bytes it keeps (request ids, keys); default 0. */
  bytes?: number;
}

export type ConsumerClass = (new (transport: ConsumerTransport) => AsyncAPIConsumer) & typeof AsyncAPIConsumer;

const permissionCache = new WeakMap<Function, BasePermission>();

/**
 * A message sent to a group with `groupSend`: `type` names the consumer method that receives it, which
 * must be declared with `@groupHandler()` (dots in `type` become underscores).
 */
export interface GroupMessage {
  type: string;
  [key: string]: unknown;
}

export class AsyncAPIConsumer {
  /** Checked at connect (`canConnect`) and before every action (`hasPermission`). A list means all. */
  static permissionClasses: PermissionLike | readonly PermissionLike[] = [AllowAny];

  readonly scope: ConnectionScope;
  readonly transport: ConsumerTransport;
  // Made on first use: most sockets never subscribe or run a detached action, and 10,000 idle
  // sockets would otherwise each hold three empty collections.
  #closers: Set<() => void> | undefined;
  #groups: Map<string, () => void> | undefined;
  #running: Map<string, Set<AbortController>> | undefined;
  /** Positions observers' subscriptions went live at, by the frame that asked (made on the first `since`). */
  #framePositions: WeakMap<object, string> | undefined;

  constructor(transport: ConsumerTransport) {
    this.transport = transport;
    this.scope = transport.scope;
  }

  /** The class's permissions as one object (a list means all of them). */
  static permission(): BasePermission {
    let permission = permissionCache.get(this);
    if (!permission) {
      permission = toPermissionList(this.permissionClasses as PermissionLike[]);
      permissionCache.set(this, permission);
    }
    return permission;
  }

  /** Whether a socket with this scope may open; false refuses the upgrade with 403. */
  static async canConnect(scope: ConnectionScope): Promise<boolean> {
    return Boolean(await this.permission().canConnect(scope));
  }

  /** The action names this consumer answers. */
  static actionNames(): string[] {
    return [...actionsOf(this).keys()];
  }

  /** Called once the socket is open; override to greet or subscribe. */
  async onConnect(): Promise<void> {}

  /** Called when the socket closed, after every subscription was dropped. */
  async onDisconnect(): Promise<void> {}

  /**
   * Handles one inbound frame. Resolves when a normal action replied; a detached action keeps
   * running after this resolves.
   */
  async receiveJson(content: Record<string, unknown>): Promise<void> {
    const requestId = content.request_id ?? null;
    const name = content.action;
    if (name === undefined || name === null) {
      this.transport.sendReply(encodeReply(null, null, STATUS.methodNotAllowed, requestId, [MESSAGES.missingAction]));
      this.#observe(null, STATUS.methodNotAllowed);
      return;
    }
    try {
      const ctor = this.constructor as typeof AsyncAPIConsumer;
      const permission = ctor.permission();
      if (!(permission instanceof AllowAny)) {
        // encodeValue, not String(): a client-sent object may carry its own `toString` key.
        const label = typeof name === 'string' ? name : encodeValue(name);
        const allowed = await permission.hasPermission(this.scope, { action: label, args: content, consumer: this });
        if (!allowed) throw new PermissionDenied();
      }
      const spec = typeof name === 'string' ? actionsOf(ctor).get(name) : undefined;
      if (!spec) throw new MethodNotAllowed(typeof name === 'string' ? name : encodeValue(name));
      if (spec.detached) {
        if (this.transport.reserveDetached && !this.transport.reserveDetached()) throw new Throttled();
        void this.#runDetached(spec, content, requestId);
        return;
      }
      const result = await this.#invoke(spec, content, requestId, this.transport.signal);
      this.#sendResult(spec.name, requestId, this.#withFramePosition(content, result));
    } catch (error) {
      this.#sendFailure(name, requestId, error);
    }
  }

  #invoke(spec: ActionSpec, args: Record<string, unknown>, requestId: unknown, signal: AbortSignal): ActionResult | Promise<ActionResult> {
    const context: ActionContext = { action: spec.name, requestId, signal };
    return (this as unknown as Record<string, (a: unknown, c: ActionContext) => ActionResult | Promise<ActionResult>>)[spec.method]!(
      args,
      context,
    );
  }

  async #runDetached(spec: ActionSpec, args: Record<string, unknown>, requestId: unknown): Promise<void> {
    const controller = new AbortController();
    // No listener on the socket's signal (one per run would pile up on a shared emitter): disconnect()
    // aborts every run it finds in #running.
    if (this.transport.signal.aborted) controller.abort();
    this.#running ??= new Map();
    let set = this.#running.get(spec.name);
    if (!set) this.#running.set(spec.name, (set = new Set()));
    set.add(controller);
    try {
      const result = await this.#invoke(spec, args, requestId, controller.signal);
      if (!controller.signal.aborted) this.#sendResult(spec.name, requestId, this.#withFramePosition(args, result));
    } catch (error) {
      if (!controller.signal.aborted) this.#sendFailure(spec.name, requestId, error);
    } finally {
      set.delete(controller);
      this.transport.releaseDetached?.();
    }
  }

  /** Cancels every detached run of an action (what `list_cancel` does); returns how many it stopped. */
  cancelDetached(actionName: string): number {
    const set = this.#running?.get(actionName);
    if (!set) return 0;
    for (const controller of set) controller.abort();
    const count = set.size;
    set.clear();
    return count;
  }

  #observe(actionName: unknown, status: number | null): void {
    if (!this.transport.actionCompleted) return;
    const known = typeof actionName === 'string' && actionsOf(this.constructor as typeof AsyncAPIConsumer).has(actionName);
    this.transport.actionCompleted(known ? (actionName as string) : UNKNOWN_ACTION, status);
  }

  #sendResult(actionName: string, requestId: unknown, result: ActionResult): void {
    if (!result) {
      this.#observe(actionName, null);
      return;
    }
    const [data, status, position] = result;
    this.transport.sendReply(encodeReply(actionName, data, status, requestId, [], position));
    this.#observe(actionName, status);
  }

  #sendFailure(actionName: unknown, requestId: unknown, error: unknown): void {
    if (error instanceof APIError) {
      this.transport.sendReply(encodeError(actionName, requestId, error));
      this.#observe(actionName, error.status);
      return;
    }
    logger.error('action failed', {
      stream: this.scope.stream,
      action: typeof actionName === 'string' ? actionName : encodeValue(actionName),
      request_id: requestId,
      error: (error as Error)?.stack ?? String(error),
    });
    this.transport.sendReply(encodeReply(actionName, null, STATUS.internal, requestId, [MESSAGES.internal]));
    this.#observe(actionName, STATUS.internal);
  }

  /**
   * Records the position a subscription made for `frame` (an action's arguments) went live at: an
   * app's own observer subscribe action that answers `[null, 201]` then replies `data: {"position": P}`
   * (docs/positions.md), as the observer machinery's subscriptions made with `since` must.
   */
  subscribedAt(frame: object, position: string): void {
    (this.#framePositions ??= new WeakMap()).set(frame, position);
  }

  /** A subscribe's `[null, 201]` for a frame an observer recorded a position for: `[{position}, 201]`. */
  #withFramePosition(frame: object, result: ActionResult): ActionResult {
    const position = this.#framePositions?.get(frame);
    if (position === undefined) return result;
    this.#framePositions!.delete(frame);
    if (!result || result[0] != null || result[1] !== STATUS.created) return result;
    return [{ position }, result[1]];
  }

  /** Sends a reply frame in the DCRF envelope (for actions that answer more than once). */
  reply(options: { action: string; data?: unknown; status?: number; requestId?: unknown; errors?: unknown[] }): void {
    this.transport.sendReply(
      encodeReply(options.action, options.data ?? null, options.status ?? STATUS.ok, options.requestId ?? null, options.errors ?? []),
    );
  }

  /**
   * Sends a reply and resolves once it has been handed to the network (or dropped with a closed
   * socket): an action that answers many times waits on it so a slow reader slows it down, instead of
   * the socket's buffer growing until it is closed as a slow consumer.
   */
  replySent(options: {
    action: string;
    data?: unknown;
    status?: number;
    requestId?: unknown;
    errors?: unknown[];
    position?: string;
  }): Promise<void> {
    const text = encodeReply(
      options.action,
      options.data ?? null,
      options.status ?? STATUS.ok,
      options.requestId ?? null,
      options.errors ?? [],
      options.position,
    );
    return new Promise((resolve) => this.transport.sendReply(text, resolve));
  }

  /** Sends any JSON value as an event frame (held until the running action's reply is out). */
  sendJson(value: unknown): void {
    this.transport.sendEvent(encodeValue(value));
  }

  /** Sends an already-encoded event frame. */
  sendText(text: string): void {
    this.transport.sendEvent(text);
  }

  /** Closes the socket. */
  close(code?: number, reason?: string): void {
    this.transport.close(code, reason);
  }

  /**
   * Keeps a subscription's closer so disconnect drops it. It counts as `cost.count` subscriptions
   * (default 1) keeping `cost.bytes` client-chosen bytes (default 0); throws Throttled when the socket's
   * limits would be passed.
   */
  async track(subscribe: () => Promise<() => void>, cost: SubscriptionCost = {}): Promise<() => void> {
    const release = this.countSubscription(cost);
    let close: () => void;
    try {
      close = await subscribe();
    } catch (error) {
      release();
      throw error;
    }
    let closed = false;
    const closer = () => {
      if (closed) return;
      closed = true;
      this.#closers?.delete(closer);
      release();
      close();
    };
    if (this.transport.signal.aborted) {
      closer();
      return closer;
    }
    (this.#closers ??= new Set()).add(closer);
    return closer;
  }

  /**
   * Counts subscriptions against the socket's limits without opening anything (what several request ids
   * sharing one open topic cost); throws Throttled past them. Returns the release, safe to call twice.
   */
  countSubscription({ count = 1, bytes = 0 }: SubscriptionCost = {}): () => void {
    if (!this.transport.reserveSubscription(count, bytes)) throw new Throttled(MESSAGES.tooManySubscriptions);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.transport.releaseSubscription(count, bytes);
    };
  }

  /**
   * The JSON text of a client-chosen value the server is about to keep as a key (a request id, a pk, a
   * group argument); 400 `{field: ["Ensure this field has no more than N characters."]}` past the
   * socket's `maxKeyBytes`, so no client makes us keep (or fan out to) megabytes per subscription.
   */
  clientKey(field: string, value: unknown): string {
    const text = encodeValue(value);
    const max = this.transport.maxKeyBytes ?? DEFAULT_MAX_KEY_BYTES;
    // Characters never outnumber UTF-8 bytes: a text already longer than the limit needs no byte count.
    const bytes = text.length > max ? text.length : Buffer.byteLength(text);
    const fits = this.transport.keyFits ? this.transport.keyFits(bytes) : bytes <= max;
    if (fits) return text;
    throw new ValidationError({ [field]: [`Ensure this field has no more than ${max} characters.`] });
  }

  /** Joins a group: `groupSend(name, message)` from any consumer (any process) reaches this one. */
  async groupAdd(group: string): Promise<void> {
    if (this.#groups?.has(group)) return;
    const hub = this.scope.runtime.hub;
    const close = await this.track(
      () => hub.subscribe(hub.signalTopic('group', group), (message: GroupMessage) => this.#receiveGroupMessage(message)),
      { bytes: group.length },
    );
    (this.#groups ??= new Map()).set(group, close);
  }

  /** Leaves a group. */
  async groupDiscard(group: string): Promise<void> {
    const close = this.#groups?.get(group);
    this.#groups?.delete(group);
    close?.();
  }

  /**
   * Sends a message to every consumer in a group of this consumer's app; `type` names the method called
   * on each (dots become underscores). Only methods declared with `@groupHandler()` are called; another
   * `type` is dropped.
   */
  async groupSend(group: string, message: GroupMessage): Promise<void> {
    return AsyncAPIConsumer.groupSend(this.scope.runtime, group, message);
  }

  /** `groupSend` from outside a consumer (a job, an HTTP handler): to the groups of `runtime`'s app. */
  static async groupSend(runtime: Runtime, group: string, message: GroupMessage): Promise<void> {
    runtime.hub.publish(runtime.hub.signalTopic('group', group), message);
  }

  #receiveGroupMessage(message: GroupMessage): void {
    const type = message?.type;
    const method = typeof type === 'string' ? type.replace(/\./g, '_') : undefined;
    // A message names a method; only declared handlers may be called, never an action, close() or any other.
    const declared = method !== undefined && groupHandlersOf(this.constructor).has(method);
    const handler = declared ? (this as unknown as Record<string, unknown>)[method] : undefined;
    if (typeof handler !== 'function') {
      logger.debug('group message with no declared handler dropped', { type: encodeValue(type), stream: this.scope.stream });
      return;
    }
    Promise.resolve(handler.call(this, message)).catch((error: unknown) => {
      logger.error('group message handler failed', { type: message.type, error: String((error as Error)?.stack ?? error) });
    });
  }

  /** Drops every subscription and cancels detached actions. Called by the session on close. */
  async disconnect(): Promise<void> {
    for (const set of this.#running?.values() ?? []) for (const controller of set) controller.abort();
    this.#running?.clear();
    for (const closer of [...(this.#closers ?? [])]) closer();
    this.#groups?.clear();
    await this.onDisconnect();
  }
}
