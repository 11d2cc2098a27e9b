/**
 * A resource's change events as each subscriber may see them: judged in memory by the row scope (a row
 * entering the subscriber's view is a `create`, one leaving it a `delete`), re-read through an opaque
 * queryset where there is one, and checked against the permission; events that need an async check
 * keep commit order per subscription.
 */
import { NotFound } from '../errors.js';
import type { ChangeMessage } from '../events/hub.js';
import { isTruncate, type Row } from '../events/records.js';
import { logger } from '../logger.js';
import type { Runtime } from '../runtime.js';
import type { ConnectionScope } from '../scope.js';
import { narrowsRows, type ResourceCall } from './call.js';
import { InOrder } from './in-order.js';
import { scopedChange, type RowScope } from './row-scope.js';

/** Which subscription an event is judged for: one row's, or a topic of many rows (a model's, a group's). */
export type SubscriptionKind = 'instance' | 'broad';

/**
 * Where an event's row came from: the message's state after the write (`data`, the last state for a
 * delete), its state before the write (`before`), or a re-read for this subscriber alone (`reread`).
 * Subscribers who see the same action and the same state of a message may share one serialization.
 */
export type RowSource = 'data' | 'before' | 'reread';

/**
 * What a subscription handler receives for each event. Subscribers of one message who see it alike may
 * be handed the same frozen object: read it, never change it.
 */
export interface ResourceEvent {
  /**
   * As the subscriber sees it: a row that entered its view is a `create`, one that left it a `delete`.
   * `resync`: the model's table was emptied (a truncate); every subscriber gets it, with no row (null
   * pk and row), and should read again (`resyncReason` says so to a client).
   */
  action: 'create' | 'update' | 'delete' | 'resync';
  pk: unknown;
  /**
   * The state the subscriber may see: the row after the write (re-read through an opaque queryset),
   * the last visible state for a delete. Null only for an instance subscription whose row left the
   * subscriber's view (or was deleted out of it, or out of an opaque queryset).
   */
  row: Row | null;
  /** Where `row` came from; null when there is no row. */
  rowFrom: RowSource | null;
  /** The message as it came off the PubSub (for memoizing one serialization per group). */
  message: ChangeMessage;
  /** The runtime it came through (`runtime.hub.memo` shares a serialization per message). */
  runtime: Runtime;
}

/**
 * An object that takes a subscription's events: one object per subscriber, its method shared, where a
 * closure is two objects (the function and its context) read for every event.
 */
export interface ResourceEventSink {
  onResourceEvent(event: ResourceEvent): void;
}

/** What a resource subscription hands its events to: a function, or a sink object. */
export type ResourceEventHandler = ((event: ResourceEvent) => void) | ResourceEventSink;

/** What judging reads of its resource. */
export interface EventSource {
  readonly name: string;
  readonly rowScope: RowScope | undefined;
  /** True when the resource's own opaque queryset narrows it: events are re-read through it. */
  readonly opaque: boolean;
  /** True when the permission allows everything (no check per event). */
  readonly allowsAll: boolean;
  mayReceive(scope: ConnectionScope, action: string, object: Row, consumer?: unknown): Promise<boolean>;
  getObject(call: ResourceCall, pk: unknown): Promise<Row>;
}

/** The message as it came, as one frozen event (see `ResourceEvents.asItCame`). */
function frozenEventOf(message: ChangeMessage, runtime: Runtime): ResourceEvent {
  return Object.freeze(
    isTruncate(message)
      ? resyncEvent(message, runtime)
      : { action: message.action, pk: message.pk, row: message.data, rowFrom: 'data' as const, message, runtime },
  );
}

/** The event every subscriber of a model gets when its table was emptied: no row, no pk. */
function resyncEvent(message: ChangeMessage, runtime: Runtime): ResourceEvent {
  return { action: 'resync', pk: null, row: null, rowFrom: null, message, runtime };
}

/**
 * The topic handler of a subscription that sees every event as it came. Made by a function of its own
 * so that the closure holds exactly these three in one context: it runs once per subscriber per event,
 * and at 10,000 subscribers each object it reads is a cache miss (a closure made inside `deliverer`
 * would read that method's context too).
 */
function asItCameDeliverer(
  events: ResourceEvents,
  runtime: Runtime,
  onEvent: (event: ResourceEvent) => void,
): (message: ChangeMessage) => void {
  return (message) => onEvent(events.asItCame(message, runtime));
}

/** `asItCameDeliverer` for a sink object. */
function asItCameSinkDeliverer(events: ResourceEvents, runtime: Runtime, sink: ResourceEventSink): (message: ChangeMessage) => void {
  return (message) => sink.onResourceEvent(events.asItCame(message, runtime));
}

export class ResourceEvents {
  constructor(private readonly source: EventSource) {}

  /**
   * The message as it came, as one frozen event shared by every subscriber of this resource who sees
   * it so (one allocation per message, not per subscriber), kept in the runtime's memo of the message.
   */
  asItCame(message: ChangeMessage, runtime: Runtime): ResourceEvent {
    return runtime.hub.memo(message, this, frozenEventOf, message, runtime);
  }

  /** Whether a subscriber's view narrows the events (a row scope, an opaque queryset); false: all are sent as they come. */
  scopesEvents(call?: ResourceCall): boolean {
    return Boolean(this.source.rowScope) || this.source.opaque || Boolean(call && narrowsRows(call));
  }

  /**
   * A change as one subscriber may see it, or undefined when it may see nothing of it: judged in
   * memory by the row scope, then (only with an opaque queryset, the resource's or the hooks') re-read
   * for the subscriber, which makes the answer a promise. Permissions are not checked here.
   */
  eventFor(
    call: ResourceCall,
    message: ChangeMessage,
    kind: SubscriptionKind,
  ): ResourceEvent | undefined | Promise<ResourceEvent | undefined> {
    const event = this.judged(call, message, kind);
    if (!event || event.action === 'resync' || !this.rereads(call)) return event;
    return this.throughQueryset(call, event, kind);
  }

  /**
   * The topic handler of one subscription. Events that need no async check are handed on at once
   * (no permission to ask, nothing to re-read: the row scope is judged in memory); the others queue
   * behind each other so a subscriber always sees a row's events in commit order.
   */
  deliverer(call: ResourceCall, handler: ResourceEventHandler, kind: SubscriptionKind): (message: ChangeMessage) => void {
    const asItCame = this.source.allowsAll && !this.rereads(call) && !this.source.rowScope;
    if (asItCame && typeof handler !== 'function') return asItCameSinkDeliverer(this, call.runtime, handler);
    const onEvent = typeof handler === 'function' ? handler : (event: ResourceEvent) => handler.onResourceEvent(event);
    if (this.source.allowsAll && !this.rereads(call)) {
      if (asItCame) return asItCameDeliverer(this, call.runtime, onEvent);
      return (message) => {
        const event = this.judged(call, message, kind);
        if (event) onEvent(event);
      };
    }
    const queue = new InOrder();
    return (message) =>
      queue.run(
        async () => {
          const event = await this.checkedEvent(call, message, kind);
          if (event) onEvent(event);
        },
        (error) =>
          // A failing permission check or re-read drops this one event, never the subscription.
          logger.error('event delivery failed', {
            resource: this.source.name,
            pk: message.pk,
            error: String((error as Error)?.stack ?? error),
          }),
      );
  }

  /** Whether events are re-read for the subscriber (an opaque queryset, the resource's or the hooks'). */
  private rereads(call: ResourceCall): boolean {
    return this.source.opaque || narrowsRows(call);
  }

  /** The row scope's judgement, without a query (the event as it came when there is no row scope). */
  private judged(call: ResourceCall, message: ChangeMessage, kind: SubscriptionKind): ResourceEvent | undefined {
    // Emptied: every subscriber is told, whatever rows it may see (the event names none).
    if (message.action === 'truncate') return resyncEvent(message, call.runtime);
    const event: ResourceEvent = {
      action: message.action,
      pk: message.pk,
      row: message.data,
      rowFrom: 'data',
      message,
      runtime: call.runtime,
    };
    const rowScope = this.source.rowScope;
    if (!rowScope) return event;
    const scope = call.scope;
    const visible = (row: Row) => rowScope.matches(row, scope);
    if (kind === 'broad') {
      const change = scopedChange(message, visible);
      return change && { ...event, action: change.action, row: change.row, rowFrom: change.from };
    }
    if (message.action !== 'delete') {
      if (visible(message.data)) return event;
      // Leaving the view is said once (null row: DCRF's 404 event); changes out of it say nothing.
      const wasVisible = message.action === 'create' ? false : message.before ? visible(message.before) : undefined;
      return wasVisible === false ? undefined : { ...event, row: null, rowFrom: null };
    }
    // A row deleted out of the subscriber's view is nothing to it; else the last state it could see.
    if (visible(message.data)) return event;
    return message.before && visible(message.before) ? { ...event, row: message.before, rowFrom: 'before' } : undefined;
  }

  /**
   * The event through an opaque queryset: creates and updates re-read for the subscriber. Whether it
   * could see a deleted row (or one that left) is unknowable: broad subscriptions hear nothing rather
   * than a delete of a row they may never have seen; an instance subscription (it saw the row when it
   * subscribed) hears of it without the row.
   */
  private async throughQueryset(call: ResourceCall, event: ResourceEvent, kind: SubscriptionKind): Promise<ResourceEvent | undefined> {
    const unseen: ResourceEvent | undefined = kind === 'instance' ? { ...event, row: null, rowFrom: null } : undefined;
    if (event.action === 'delete' || event.row === null) return unseen;
    try {
      return { ...event, row: await this.source.getObject(call, event.pk), rowFrom: 'reread' };
    } catch (error) {
      if (!(error instanceof NotFound)) throw error;
      return unseen;
    }
  }

  private async checkedEvent(call: ResourceCall, message: ChangeMessage, kind: SubscriptionKind): Promise<ResourceEvent | undefined> {
    // The in-memory judgement first and the re-read last: a refused event costs no query.
    const event = this.judged(call, message, kind);
    // A resync reveals no row: no permission decides it, nothing is re-read (it stays in line behind the events before it).
    if (event?.action === 'resync') return event;
    if (!event || !(await this.source.mayReceive(call.scope, event.action, event.row ?? message.data, call.hooks))) return undefined;
    return this.rereads(call) ? this.throughQueryset(call, event, kind) : event;
  }
}
