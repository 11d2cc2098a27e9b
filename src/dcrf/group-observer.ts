/**
 * What model and signal observers share (DCRF's groups API): per-consumer group subscriptions, each
 * (group, request id) counted against the socket's limits, events kept in order while permission
 * checks are pending, and the default handler that frames a body once per message.
 */
import type { ChangeMessage, PositionedUnsubscribe } from '../events/hub.js';
import type { Row } from '../events/records.js';
import { logger } from '../logger.js';
import { AllowAny, mayReceiveEvent } from '../permissions.js';
import { InOrder } from '../resources/in-order.js';
import type { ActionArgs } from './actions.js';
import type { AsyncAPIConsumer } from './consumer.js';
import { sinceOf, sinceWithoutPositions, trackSince } from './positions.js';
import { resyncPrefix } from './resync.js';
import { encodeValue, eventPrefix, STATUS, withEncodedRequestIdAt } from './protocol.js';

/** What a model or signal observer's handler receives. */
export interface ObservedEvent<Body = unknown> {
  /** The serialized body (serialized once per message for every consumer in this process). */
  body: Body;
  /** The action relative to the group (model observers) or the observer's name (signals). */
  action: string;
  /** The request ids of this consumer's subscriptions the event matched. */
  subscribingRequestIds: unknown[];
  /** The group the event came through. */
  group: string;
  /** The change's position, for a subscription made with `since` (undefined otherwise and for signals). */
  position?: string;
}

export interface ObserverOptions<C extends AsyncAPIConsumer, Source> {
  /** Names the observer's topics: unique per model (or signal), the same in every process. */
  name: string;
  /** The groups an event belongs to. Default: one group for all. */
  groupsForSignal?: (source: Source) => Iterable<string | number>;
  /** The groups a subscription with these arguments joins. Default: the one group for all. */
  groupsForConsumer?: (args: ActionArgs, consumer: C) => Iterable<string | number>;
  /**
   * Decides what to send. Default: one frame per subscribing request id,
   * `{"errors": [], "data": body, "action": action, "response_status": 200, "request_id": id}`.
   * A model observer's truncate never reaches it: every subscriber gets the `resync` event instead.
   */
  handler?: (consumer: C, event: ObservedEvent) => void | Promise<void>;
}

const ALL = '__all__';

/** How an observer reads a topic message: the body (computed lazily, memoized under bodyKey), the action, the row. */
export interface ObserverEvent {
  body: () => unknown;
  action: string;
  bodyKey: unknown;
  /** Memoizes the default handler's frame; differs from bodyKey's owner when subscribers see different actions. */
  frameKey?: object;
  row?: Row;
  /**
   * The model's table was emptied: every subscribing request id gets the `resync` event (dcrf/resync.ts),
   * whatever the permission and the observer's own handler (a truncate names no row to judge or serialize).
   */
  resync?: boolean;
}

interface GroupSubscription {
  requestIds: Set<string>;
  /** Each request id is a subscription of its own against the socket's limits: its release. */
  releases: Map<string, () => void>;
  close: () => void;
  /** This subscription's events waiting for a permission check or a re-read (made on first need). */
  queue?: InOrder;
  /** Made with `since`: its events carry their position (one request id per such subscription). */
  positioned?: boolean;
}

/** The key of a subscription made with `since`: one group, one request id. */
const sinceKey = (group: string, id: string) => `${group}\u0000${id}`;

/** What model and signal observers share: per-consumer group subscriptions and the default handler. */
export abstract class BaseObserver<C extends AsyncAPIConsumer, Source> {
  readonly #subscriptions = new WeakMap<C, Map<string, GroupSubscription>>();
  /** Subscriptions made with `since`, each with its own replay: by group and request id (`sinceKey`). */
  readonly #resumed = new WeakMap<C, Map<string, GroupSubscription>>();
  /** Memo key (per message) of the request ids each consumer was sent a message's resync for. */
  readonly #resyncSent = {};

  constructor(protected readonly options: ObserverOptions<C, Source>) {}

  get name(): string {
    return this.options.name;
  }

  /** The groups an event's source belongs to (`groupsForSignal`, or the one group for all). */
  groupsOf(source: Source): string[] {
    return this.options.groupsForSignal ? [...this.options.groupsForSignal(source)].map(String) : [ALL];
  }

  /** Whether this observer's events are changes of model rows, with positions a subscription may resume from. */
  protected get hasPositions(): boolean {
    return false;
  }

  /**
   * Listens to one group's events for `consumer` (on its runtime's hub); resolves with the closer once
   * live. With `since` (only where `hasPositions`), the changes after it are replayed first and the
   * closer carries the head when it went live.
   */
  protected abstract openGroup(
    consumer: C,
    group: string,
    onMessage: (message: any) => void,
    since?: string,
  ): Promise<PositionedUnsubscribe>;
  /** The event as `consumer` may see it (undefined: nothing); a promise when that takes a query. */
  protected abstract eventOf(message: any, group: string, consumer: C): ObserverEvent | undefined | Promise<ObserverEvent | undefined>;

  /**
   * Joins the groups `groupsForConsumer(args)` names, for `requestId`. Resolves once live. Every
   * (group, request id) counts as one subscription against the socket's limits; when one is refused,
   * none of the call's groups is joined.
   *
   * With `args.since` (docs/positions.md): each group replays the changes after it, then goes live, its
   * events carrying their `position`; the result's `position` is the head when the first group went
   * live (also recorded for the action's reply, which then answers `data: {"position": P}`). A custom
   * signal has no positions: 400. A subscribe of the same group and request id replaces the other kind.
   */
  async subscribe(consumer: C, args: ActionArgs = {}, requestId: unknown = null): Promise<string[] & { position?: string }> {
    const id = consumer.clientKey('request_id', requestId ?? null);
    const since = sinceOf(args);
    if (since !== undefined && !this.hasPositions) throw sinceWithoutPositions();
    const groups = this.#boundedGroups(consumer, args);
    let byGroup = this.#subscriptions.get(consumer);
    if (!byGroup) this.#subscriptions.set(consumer, (byGroup = new Map()));
    if (since !== undefined) return this.#subscribeSince(consumer, args, groups, id, since, byGroup);
    const resumed = this.#resumed.get(consumer);
    if (resumed) for (const group of groups) this.#leaveResumed(resumed, group, id);
    const joined: string[] = [];
    try {
      for (const group of groups) {
        const existing = byGroup.get(group);
        if (existing?.requestIds.has(id)) continue;
        const release = consumer.countSubscription({ bytes: id.length });
        joined.push(group);
        if (existing) {
          existing.requestIds.add(id);
          existing.releases.set(id, release);
          continue;
        }
        const entry: GroupSubscription = { requestIds: new Set([id]), releases: new Map([[id, release]]), close: () => undefined };
        byGroup.set(group, entry);
        // The open group keeps its name; its request ids are counted one by one above.
        const open = () => this.openGroup(consumer, group, (message) => this.#deliver(consumer, message, group, entry));
        entry.close = await consumer.track(open, { count: 0, bytes: group.length });
      }
    } catch (error) {
      for (const group of joined) this.#leave(byGroup, group, id);
      throw error;
    }
    return groups;
  }

  /** One subscription per (group, request id), each replaying since `since`; none is left open when one is refused. */
  async #subscribeSince(
    consumer: C,
    args: ActionArgs,
    groups: string[],
    id: string,
    since: string,
    byGroup: Map<string, GroupSubscription>,
  ): Promise<string[] & { position?: string }> {
    let resumed = this.#resumed.get(consumer);
    if (!resumed) this.#resumed.set(consumer, (resumed = new Map()));
    let position: string | undefined;
    const opened: string[] = [];
    try {
      for (const group of groups) {
        // Resuming replaces this request id's subscription to the group: both would send live events twice.
        this.#leave(byGroup, group, id);
        this.#leaveResumed(resumed, group, id);
        const entry: GroupSubscription = { requestIds: new Set([id]), releases: new Map(), close: () => undefined, positioned: true };
        const open = () => this.openGroup(consumer, group, (message) => this.#deliver(consumer, message, group, entry), since);
        const subscription = await trackSince(consumer, since, open, { bytes: id.length + group.length });
        entry.close = subscription.close;
        resumed.set(sinceKey(group, id), entry);
        opened.push(group);
        position ??= subscription.position;
      }
    } catch (error) {
      for (const group of opened) this.#leaveResumed(resumed, group, id);
      throw error;
    }
    if (position !== undefined) consumer.subscribedAt(args, position);
    return Object.assign(groups, { position });
  }

  /** Leaves the groups `groupsForConsumer(args)` names for `requestId` (every request id when undefined). */
  async unsubscribe(consumer: C, args: ActionArgs = {}, requestId?: unknown): Promise<string[]> {
    const groups = this.options.groupsForConsumer ? [...this.options.groupsForConsumer(args, consumer)].map(String) : [ALL];
    const id = requestId === undefined ? undefined : encodeValue(requestId);
    const resumed = this.#resumed.get(consumer);
    if (resumed) for (const group of groups) this.#leaveResumed(resumed, group, id);
    const byGroup = this.#subscriptions.get(consumer);
    if (!byGroup) return groups;
    for (const group of groups) this.#leave(byGroup, group, id);
    return groups;
  }

  /** Closes the subscriptions made with `since` to a group for one request id (every one when undefined). */
  #leaveResumed(resumed: Map<string, GroupSubscription>, group: string, id: string | undefined): void {
    if (id !== undefined) {
      resumed.get(sinceKey(group, id))?.close();
      resumed.delete(sinceKey(group, id));
      return;
    }
    const prefix = sinceKey(group, '');
    for (const [key, entry] of resumed) {
      if (!key.startsWith(prefix)) continue;
      entry.close();
      resumed.delete(key);
    }
  }

  /** Drops one request id (every one when undefined) from a group; the last one out closes the topic. */
  #leave(byGroup: Map<string, GroupSubscription>, group: string, id: string | undefined): void {
    const entry = byGroup.get(group);
    if (!entry) return;
    for (const key of id === undefined ? [...entry.requestIds] : [id]) {
      if (!entry.requestIds.delete(key)) continue;
      entry.releases.get(key)?.();
      entry.releases.delete(key);
    }
    if (entry.requestIds.size === 0) {
      byGroup.delete(group);
      entry.close();
    }
  }

  /**
   * The groups a subscription joins. The arguments they are made of are client-chosen and kept (as group
   * names, topics, keys), so each argument `groupsForConsumer` reads is held to the socket's maxKeyBytes.
   */
  #boundedGroups(consumer: C, args: ActionArgs): string[] {
    const groupsForConsumer = this.options.groupsForConsumer;
    if (!groupsForConsumer) return [ALL];
    const read = new Set<string>();
    const watched = new Proxy(args, {
      get(target, key, receiver) {
        if (typeof key === 'string') read.add(key);
        return Reflect.get(target, key, receiver);
      },
    });
    const groups = [...groupsForConsumer(watched, consumer)].map(String);
    for (const key of read) if (Object.hasOwn(args, key)) consumer.clientKey(key, args[key]);
    return groups;
  }

  #deliver(consumer: C, message: any, group: string, entry: GroupSubscription): void {
    if (entry.requestIds.size === 0) return;
    const seen = this.eventOf(message, group, consumer);
    if (!(seen instanceof Promise) && seen?.resync) {
      // In line behind the events still waiting for a check, if any.
      if (entry.queue) entry.queue.run(async () => this.#resync(consumer, message, entry), ignore);
      else this.#resync(consumer, message, entry);
      return;
    }
    const permission = (consumer.constructor as typeof AsyncAPIConsumer).permission();
    if (!(seen instanceof Promise) && (permission instanceof AllowAny || !seen?.row)) {
      if (seen) this.#send(consumer, message, group, entry, seen);
      return;
    }
    // Checks may take different times: queue them per subscription so events keep commit order.
    (entry.queue ??= new InOrder()).run(async () => {
      const event = await seen;
      if (!event) return;
      const object = event.row;
      const request = { action: event.action, args: {}, consumer, object };
      if (permission instanceof AllowAny || !object || (await mayReceiveEvent(permission, consumer.scope, { ...request, object })))
        this.#send(consumer, message, group, entry, event);
    }, ignore);
  }

  /**
   * Sends an event to each subscribing request id (or hands it to the observer's handler). A method,
   * not a closure per event: it runs for every subscribing consumer of every event.
   */
  #send(consumer: C, message: any, group: string, entry: GroupSubscription, event: ObserverEvent): void {
    try {
      const hub = consumer.scope.runtime.hub;
      const position: string | undefined = entry.positioned ? message.position : undefined;
      if (this.options.handler) {
        const body = hub.memo(message, event.bodyKey, event.body);
        const observed: ObservedEvent = { body, action: event.action, subscribingRequestIds: decodedIds(entry), group };
        if (position !== undefined) observed.position = position;
        Promise.resolve(this.options.handler(consumer, observed)).catch((error: unknown) => this.#failed(entry, error));
        return;
      }
      const prefix = hub.memo(message, event.frameKey ?? this, groupFrame, event);
      for (const id of entry.requestIds) consumer.sendText(withEncodedRequestIdAt(prefix, id, position));
    } catch (error) {
      this.#failed(entry, error);
    }
  }

  /**
   * A throwing serializer or handler is logged once with the subscribing request ids; the
   * subscription and the other subscribers carry on.
   */
  #failed(entry: GroupSubscription, error: unknown): void {
    logger.error('observer handler failed', {
      observer: this.name,
      request_ids: decodedIds(entry),
      error: String((error as Error)?.stack ?? error),
    });
  }

  /**
   * Sends the `resync` event to each subscribing request id, once per message even when a request id
   * joined several groups (a truncate reaches every group).
   */
  #resync(consumer: C, message: ChangeMessage, entry: GroupSubscription): void {
    const hub = consumer.scope.runtime.hub;
    const sentTo = hub.memo(message, this.#resyncSent, () => new WeakMap<C, Set<string>>());
    let sent = sentTo.get(consumer);
    if (!sent) sentTo.set(consumer, (sent = new Set()));
    const position: string | undefined = entry.positioned ? message.position : undefined;
    for (const id of entry.requestIds) {
      if (sent.has(id)) continue;
      sent.add(id);
      consumer.sendText(withEncodedRequestIdAt(resyncPrefix(hub, message), id, position));
    }
  }
}

/** The subscribing request ids, kept encoded: decoded only for a handler of one's own and the log. */
function decodedIds(entry: GroupSubscription): unknown[] {
  return [...entry.requestIds].map((id) => JSON.parse(id) as unknown);
}

/** The default handler's frame text of an event, without the request ids. */
function groupFrame(event: ObserverEvent): string {
  return eventPrefix(event.action, encodeValue(event.body()), STATUS.ok);
}

/** A refused or failing check sends nothing. */
function ignore(): void {}
