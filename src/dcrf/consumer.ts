/**
 * AsyncAPIConsumer: one instance per socket (per stream on a multiplexed socket). It routes each
 * frame to an action, checks permissions first, and answers in the DCRF envelope.
 */
import { APIError, MethodNotAllowed, PermissionDenied, Throttled } from '../errors.js';
import { getChangeHub } from '../events/current.js';
import { logger } from '../logger.js';
import { AllowAny, toPermissionList, type BasePermission, type PermissionLike } from '../permissions.js';
import type { ConnectionScope } from '../scope.js';
import { actionsOf, type ActionContext, type ActionSpec } from './actions.js';
import { encodeError, encodeReply, encodeValue, MESSAGES, STATUS, type ActionResult } from './protocol.js';

/** How a consumer talks to its socket; the session (single or multiplexed) provides it. */
export interface ConsumerTransport {
  readonly scope: ConnectionScope;
  /** Sends a reply now. */
  sendReply(text: string): void;
  /** Sends an event; the session holds it while an action of this socket runs, so the reply comes first. */
  sendEvent(text: string): void;
  /** Closes the whole socket. */
  close(code?: number, reason?: string): void;
  /** Aborted when the socket closes. */
  readonly signal: AbortSignal;
  /** Counts a new subscription against the socket's limit; false when the limit is reached. */
  reserveSubscription(): boolean;
  releaseSubscription(): void;
  /** Told once per answered action (for metrics); `status` null when the action sent no reply. */
  actionCompleted?(action: string, status: number | null): void;
}

/** The action label metrics use for a name the consumer does not have (client-chosen names would be unbounded). */
export const UNKNOWN_ACTION = '<unknown>';

export type ConsumerClass = (new (transport: ConsumerTransport) => AsyncAPIConsumer) & typeof AsyncAPIConsumer;

const permissionCache = new WeakMap<Function, BasePermission>();

/** A message sent to a group with `groupSend`: `type` names the consumer method that receives it. */
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
        void this.#runDetached(spec, content, requestId);
        return;
      }
      const result = await this.#invoke(spec, content, requestId, this.transport.signal);
      this.#sendResult(spec.name, requestId, result);
    } catch (error) {
      this.#sendFailure(name, requestId, error);
    }
  }

  #invoke(spec: ActionSpec, args: Record<string, unknown>, requestId: unknown, signal: AbortSignal): ActionResult | Promise<ActionResult> {
    const context: ActionContext = { action: spec.name, requestId, signal };
    return (this as unknown as Record<string, (a: unknown, c: ActionContext) => ActionResult | Promise<ActionResult>>)[spec.method]!(args, context);
  }

  async #runDetached(spec: ActionSpec, args: Record<string, unknown>, requestId: unknown): Promise<void> {
    const controller = new AbortController();
    const onClose = () => controller.abort();
    this.transport.signal.addEventListener('abort', onClose, { once: true });
    this.#running ??= new Map();
    let set = this.#running.get(spec.name);
    if (!set) this.#running.set(spec.name, (set = new Set()));
    set.add(controller);
    try {
      const result = await this.#invoke(spec, args, requestId, controller.signal);
      if (!controller.signal.aborted) this.#sendResult(spec.name, requestId, result);
    } catch (error) {
      if (!controller.signal.aborted) this.#sendFailure(spec.name, requestId, error);
    } finally {
      set.delete(controller);
      this.transport.signal.removeEventListener('abort', onClose);
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
    const [data, status] = result;
    this.transport.sendReply(encodeReply(actionName, data, status, requestId));
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

  /** Sends a reply frame in the DCRF envelope (for actions that answer more than once). */
  reply(options: { action: string; data?: unknown; status?: number; requestId?: unknown; errors?: unknown[] }): void {
    this.transport.sendReply(
      encodeReply(options.action, options.data ?? null, options.status ?? STATUS.ok, options.requestId ?? null, options.errors ?? []),
    );
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
   * Keeps a subscription's closer so disconnect drops it; throws Throttled when the socket already
   * holds as many subscriptions as its limit allows.
   */
  async track(subscribe: () => Promise<() => void>): Promise<() => void> {
    if (!this.transport.reserveSubscription()) throw new Throttled(MESSAGES.tooManySubscriptions);
    let close: () => void;
    try {
      close = await subscribe();
    } catch (error) {
      this.transport.releaseSubscription();
      throw error;
    }
    let closed = false;
    const closer = () => {
      if (closed) return;
      closed = true;
      this.#closers?.delete(closer);
      this.transport.releaseSubscription();
      close();
    };
    if (this.transport.signal.aborted) {
      closer();
      return closer;
    }
    (this.#closers ??= new Set()).add(closer);
    return closer;
  }

  /** Joins a group: `groupSend(name, message)` from any consumer (any process) reaches this one. */
  async groupAdd(group: string): Promise<void> {
    if (this.#groups?.has(group)) return;
    const hub = getChangeHub();
    const close = await this.track(() =>
      hub.subscribe(hub.signalTopic('group', group), (message: GroupMessage) => this.#receiveGroupMessage(message)),
    );
    (this.#groups ??= new Map()).set(group, close);
  }

  /** Leaves a group. */
  async groupDiscard(group: string): Promise<void> {
    const close = this.#groups?.get(group);
    this.#groups?.delete(group);
    close?.();
  }

  /** Sends a message to every consumer in a group; `type` names the method called on each (dots become underscores). */
  static async groupSend(group: string, message: GroupMessage): Promise<void> {
    const hub = getChangeHub();
    hub.publish(hub.signalTopic('group', group), message);
  }

  #receiveGroupMessage(message: GroupMessage): void {
    const method = String(message?.type ?? '').replace(/\./g, '_');
    const handler = (this as unknown as Record<string, unknown>)[method];
    if (typeof handler !== 'function' || method === 'constructor') {
      logger.warn('group message with no handler', { type: message?.type, stream: this.scope.stream });
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
