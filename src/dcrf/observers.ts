/**
 * Observers (dcrf-protocol.md section 7): instance subscriptions, model observers with groups, and
 * custom-signal observers. Every event is serialized once per message in this process, then each
 * subscribing request id only appends itself to the shared frame text.
 */
import type { Model, ModelClass } from 'objection';
import { getChangeHub } from '../events/current.js';
import { registerGroups, type ChangeMessage } from '../events/hub.js';
import type { ChangeAction, Row } from '../events/records.js';
import { logger } from '../logger.js';
import { AllowAny } from '../permissions.js';
import type { Resource, ResourceEvent } from '../resources/resource.js';
import { serializerInstance, type SerializerClass } from '../serializers/serializer.js';
import { action, type ActionArgs } from './actions.js';
import type { AsyncAPIConsumer } from './consumer.js';
import { GenericAsyncAPIConsumer, requireArg, requirePk } from './generic.js';
import { encodeValue, eventPrefix, STATUS, withRequestId, type ActionResult } from './protocol.js';

type GenericClass = abstract new (...args: any[]) => GenericAsyncAPIConsumer;

const NOT_FOUND_ERRORS = ['Not found'];

const memoKeys = new WeakMap<object, Map<string, object>>();

/**
 * A memo key for one kind of frame built with one serializer (or observer): the same message may be
 * framed as a subscribe_instance `update` and a subscribe_many `create`, so each kind keys its own.
 */
export function frameKey(owner: object, kind: string): object {
  let byKind = memoKeys.get(owner);
  if (!byKind) memoKeys.set(owner, (byKind = new Map()));
  let key = byKind.get(kind);
  if (!key) byKind.set(kind, (key = { kind }));
  return key;
}

/** The frame text of a subscribe_instance event, without the request id. */
function instanceEventPrefix(consumer: GenericAsyncAPIConsumer, event: ResourceEvent): string {
  if (event.action === 'delete') {
    // Exactly {"pk": pk} whatever the serializer calls its key: dcrf-client matches it deeply.
    return getChangeHub().memo(event.message, 'instance-delete', () =>
      eventPrefix('delete', '{"pk":' + encodeValue(event.pk) + '}', STATUS.noContent),
    );
  }
  if (event.row === null) return eventPrefix('update', 'null', STATUS.notFound, NOT_FOUND_ERRORS);
  const serializer = consumer.getSerializer();
  if (event.row !== event.message.data) {
    return eventPrefix('update', JSON.stringify(serializer.toRepresentation(event.row)), STATUS.ok);
  }
  // A create reaches the row's topic too (a row re-created under a pk someone watches): DCRF
  // reports every change of a watched row as `update`.
  return getChangeHub().memo(event.message, frameKey(serializer, 'instance-update'), () =>
    eventPrefix('update', JSON.stringify(serializer.toRepresentation(event.row as Row)), STATUS.ok),
  );
}

/**
 * Runs `send` for an event only when the consumer's own permission allows it (dcrf-protocol.md 7:
 * nothing is sent when denied), keeping the consumer's events in order while checks are pending.
 * The resource checks its own permission already; this adds the consumer's when it is a different one.
 */
export function consumerEventGate(consumer: GenericAsyncAPIConsumer): (action: string, object: Row | null, send: () => void) => void {
  const permission = (consumer.constructor as typeof AsyncAPIConsumer).permission();
  if (permission instanceof AllowAny || permission === consumer.resource.permission) return (_action, _object, send) => send();
  let tail: Promise<void> = Promise.resolve();
  return (action, object, send) => {
    tail = tail
      .then(async () => {
        const request = { action, args: {}, consumer, ...(object ? { object } : {}) };
        if (await permission.hasPermission(consumer.scope, request)) send();
      })
      .catch(() => undefined);
  };
}

/** One subscribe_instance of a consumer: the pk and request id as sent, and how to close it. */
export interface InstanceSubscription {
  pk: string;
  requestId: string;
  close: () => void;
}

/**
 * `subscribe_instance {pk, request_id}` → 201 and `unsubscribe_instance {pk, request_id?}` → 204.
 * Events carry the subscribe request's id; updates are re-read through the queryset (404 event if
 * the row left it), deletes are exactly `{"pk": pk}`; nothing is sent when the permission refuses.
 */
export function ObserverModelInstanceMixin<T extends GenericClass>(Base: T) {
  abstract class ObserverModelInstance extends Base {
    /** Made on first subscribe (idle sockets hold none). */
    #instanceSubscriptions: Map<string, InstanceSubscription> | undefined;

    @action({ args: ['pk', 'request_id'] })
    async subscribe_instance(args: ActionArgs): Promise<ActionResult> {
      const pk = requirePk(args);
      const requestId = requireArg(args, 'request_id');
      const entry: InstanceSubscription = { pk: String(pk), requestId: this.clientKey('request_id', requestId), close: () => undefined };
      this.clientKey('pk', pk);
      const key = `${entry.pk}\u0000${entry.requestId}`;
      if (!this.#instanceSubscriptions?.has(key)) {
        const gate = consumerEventGate(this);
        // The frame's arguments stay with the subscription (the queryset hooks read them at each event).
        const cost = { bytes: key.length + encodeValue(args).length };
        const close = await this.track(() =>
          this.resource.subscribeInstance(
            this.scope,
            pk,
            (event) =>
              gate(event.action, event.row ?? event.message.data, () => {
                // A serializer that throws on one row must not end the subscription nor reach the client.
                try {
                  this.sendText(withRequestId(instanceEventPrefix(this, event), requestId));
                } catch (error) {
                  logger.error('instance event failed', { stream: this.scope.stream, request_id: requestId, pk: event.pk, error: String((error as Error)?.stack ?? error) });
                }
              }),
            this,
            args,
          ),
          cost,
        );
        if (this.#instanceSubscriptions?.has(key)) close();
        else (this.#instanceSubscriptions ??= new Map()).set(key, { ...entry, close });
      }
      return [null, STATUS.created];
    }

    @action({ args: ['pk', 'request_id'] })
    async unsubscribe_instance(args: ActionArgs): Promise<ActionResult> {
      const pk = requirePk(args);
      const requestId = 'request_id' in args ? encodeValue(args.request_id) : undefined;
      let row: Row | undefined;
      try {
        row = await this.getObject(args);
      } finally {
        // A row that is gone still answers 404 (as DCRF does), but its subscriptions are dropped.
        const pks = new Set([String(pk)]);
        if (row) pks.add(String(row[this.resource.lookupField]));
        for (const [key, entry] of this.#instanceSubscriptions ?? []) {
          if (pks.has(entry.pk) && (requestId === undefined || entry.requestId === requestId)) {
            entry.close();
            this.#instanceSubscriptions!.delete(key);
          }
        }
      }
      return [null, STATUS.noContent];
    }
  }
  return ObserverModelInstance;
}

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
   */
  handler?: (consumer: C, event: ObservedEvent) => void | Promise<void>;
}

export interface ModelObserverOptions<C extends AsyncAPIConsumer> extends ObserverOptions<C, Row> {
  /** Turns the row into the body; a serializer class or a function. Default: `{pk}`. */
  serializer?: SerializerClass | ((row: Row, action: ChangeAction) => unknown);
  /**
   * The resource whose row scope each subscriber's events pass (a row entering the subscriber's view
   * is a `create`, one leaving it a `delete`, one it may not see nothing). Default: the consumer's own
   * resource when it serves this observer's model.
   */
  resource?: Resource;
}

const ALL = '__all__';

/** How an observer reads a topic message: the body (computed lazily, memoized under bodyKey), the action, the row. */
interface ObserverEvent {
  body: () => unknown;
  action: string;
  bodyKey: unknown;
  /** Memoizes the default handler's frame; differs from bodyKey's owner when subscribers see different actions. */
  frameKey?: object;
  row?: Row;
}

interface GroupSubscription {
  requestIds: Set<string>;
  /** Each request id is a subscription of its own against the socket's limits: its release. */
  releases: Map<string, () => void>;
  close: () => void;
  /** The last pending permission check of this subscription's events. */
  tail: Promise<void>;
}

/** What model and signal observers share: per-consumer group subscriptions and the default handler. */
abstract class BaseObserver<C extends AsyncAPIConsumer, Source> {
  readonly #subscriptions = new WeakMap<C, Map<string, GroupSubscription>>();

  constructor(protected readonly options: ObserverOptions<C, Source>) {}

  get name(): string {
    return this.options.name;
  }

  protected groupsOf(source: Source): string[] {
    return this.options.groupsForSignal ? [...this.options.groupsForSignal(source)].map(String) : [ALL];
  }

  protected abstract topic(group: string): string;
  protected abstract openTopic(consumer: C, topic: string, onMessage: (message: any) => void): Promise<() => void>;
  /** The event as `consumer` may see it (undefined: nothing); a promise when that takes a query. */
  protected abstract eventOf(message: any, group: string, consumer: C): ObserverEvent | undefined | Promise<ObserverEvent | undefined>;

  /**
   * Joins the groups `groupsForConsumer(args)` names, for `requestId`. Resolves once live. Every
   * (group, request id) counts as one subscription against the socket's limits; when one is refused,
   * none of the call's groups is joined.
   */
  async subscribe(consumer: C, args: ActionArgs = {}, requestId: unknown = null): Promise<string[]> {
    const id = consumer.clientKey('request_id', requestId ?? null);
    const groups = this.#boundedGroups(consumer, args);
    let byGroup = this.#subscriptions.get(consumer);
    if (!byGroup) this.#subscriptions.set(consumer, (byGroup = new Map()));
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
        const entry: GroupSubscription = { requestIds: new Set([id]), releases: new Map([[id, release]]), close: () => undefined, tail: Promise.resolve() };
        byGroup.set(group, entry);
        // The open topic keeps the group's name; its request ids are counted one by one above.
        const open = () => this.openTopic(consumer, this.topic(group), (message) => this.#deliver(consumer, message, group, entry));
        entry.close = await consumer.track(open, { count: 0, bytes: group.length });
      }
    } catch (error) {
      for (const group of joined) this.#leave(byGroup, group, id);
      throw error;
    }
    return groups;
  }

  /** Leaves the groups `groupsForConsumer(args)` names for `requestId` (every request id when undefined). */
  async unsubscribe(consumer: C, args: ActionArgs = {}, requestId?: unknown): Promise<string[]> {
    const groups = this.options.groupsForConsumer ? [...this.options.groupsForConsumer(args, consumer)].map(String) : [ALL];
    const byGroup = this.#subscriptions.get(consumer);
    if (!byGroup) return groups;
    const id = requestId === undefined ? undefined : encodeValue(requestId);
    for (const group of groups) this.#leave(byGroup, group, id);
    return groups;
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
    const send = (event: ObserverEvent) => {
      const requestIds = [...entry.requestIds].map((id) => JSON.parse(id) as unknown);
      // A throwing serializer or handler is logged once with the subscribing request ids; the
      // subscription and the other subscribers carry on.
      const failed = (error: unknown) =>
        logger.error('observer handler failed', { observer: this.name, request_ids: requestIds, error: String((error as Error)?.stack ?? error) });
      try {
        if (this.options.handler) {
          const observed: ObservedEvent = { body: getChangeHub().memo(message, event.bodyKey, event.body), action: event.action, subscribingRequestIds: requestIds, group };
          Promise.resolve(this.options.handler(consumer, observed)).catch(failed);
          return;
        }
        const prefix = getChangeHub().memo(message, event.frameKey ?? this, () => eventPrefix(event.action, encodeValue(event.body()), STATUS.ok));
        for (const id of requestIds) consumer.sendText(withRequestId(prefix, id));
      } catch (error) {
        failed(error);
      }
    };
    const permission = (consumer.constructor as typeof AsyncAPIConsumer).permission();
    if (!(seen instanceof Promise) && (permission instanceof AllowAny || !seen?.row)) {
      if (seen) send(seen);
      return;
    }
    // Checks may take different times: queue them per subscription so events keep commit order.
    entry.tail = entry.tail
      .then(async () => {
        const event = await seen;
        if (!event) return;
        const object = event.row;
        if (permission instanceof AllowAny || !object || (await permission.hasPermission(consumer.scope, { action: event.action, args: {}, consumer, object }))) send(event);
      })
      .catch(() => undefined);
  }
}

/** Observes a model's committed changes, sorted into groups (DCRF `model_observer`). */
export class ModelObserver<C extends AsyncAPIConsumer = AsyncAPIConsumer> extends BaseObserver<C, Row> {
  readonly #modelName: string;
  readonly #serialize: (row: Row, action: ChangeAction) => unknown;
  readonly #scoping = new WeakMap<Function, Resource | null>();

  constructor(
    readonly model: ModelClass<Model>,
    options: ModelObserverOptions<C>,
  ) {
    super(options);
    this.#modelName = (model as unknown as { changeName?: string }).changeName ?? model.name;
    const serializer = options.serializer;
    const idColumn = model.idColumn as string;
    if (!serializer) this.#serialize = (row) => ({ pk: row[idColumn] });
    else if ('prototype' in serializer && typeof (serializer.prototype as { toRepresentation?: unknown }).toRepresentation === 'function') {
      const instance = serializerInstance(serializer as SerializerClass);
      this.#serialize = (row) => instance.toRepresentation(row);
    } else this.#serialize = serializer as (row: Row, action: ChangeAction) => unknown;
    registerGroups(this.#modelName, options.name, (row) => this.groupsOf(row));
  }

  protected topic(group: string): string {
    return getChangeHub().groupTopic(this.#modelName, this.name, group);
  }

  protected openTopic(_consumer: C, topic: string, onMessage: (message: ChangeMessage) => void): Promise<() => void> {
    return getChangeHub().subscribe(topic, onMessage, this.#modelName);
  }

  protected eventOf(message: ChangeMessage, _group: string, consumer: C): ObserverEvent | undefined | Promise<ObserverEvent | undefined> {
    const resource = this.#scopeOf(consumer);
    if (!resource) return { body: () => this.#serialize(message.data, message.action), action: message.action, bodyKey: this, row: message.data };
    const seen = resource.eventFor(consumer.scope, message, 'broad');
    return seen instanceof Promise ? seen.then((event) => this.#scoped(event)) : this.#scoped(seen);
  }

  /** The resource whose row scope applies to this consumer's events, if one narrows them (found once per class). */
  #scopeOf(consumer: C): Resource | undefined {
    const ctor = consumer.constructor as typeof GenericAsyncAPIConsumer;
    let scoping = this.#scoping.get(ctor);
    if (scoping === undefined) {
      let resource = (this.options as ModelObserverOptions<C>).resource;
      if (!resource && consumer instanceof GenericAsyncAPIConsumer && (ctor.resource || ctor.queryset)) {
        resource = consumer.resource.modelName === this.#modelName ? consumer.resource : undefined;
      }
      scoping = resource?.scopesEvents() ? resource : null;
      this.#scoping.set(ctor, scoping);
    }
    return scoping ?? undefined;
  }

  /** An event as one subscriber sees it: every subscriber seeing the same action and state shares one body and frame. */
  #scoped(event: ResourceEvent | undefined): ObserverEvent | undefined {
    if (!event?.row) return undefined;
    const row = event.row;
    const state = row === event.message.data ? 'after' : row === event.message.before ? 'before' : undefined;
    // A row re-read for this subscriber is its own: never shared through the message's memo.
    const key = (part: string) => (state ? frameKey(this, `${part}:${event.action}:${state}`) : {});
    return { body: () => this.#serialize(row, event.action), action: event.action, bodyKey: key('body'), frameKey: key('frame'), row };
  }
}

/** `modelObserver(Model, options)`: DCRF's `@model_observer(Model)` with its groups API. */
export function modelObserver<C extends AsyncAPIConsumer = AsyncAPIConsumer>(model: ModelClass<Model>, options: ModelObserverOptions<C>): ModelObserver<C> {
  return new ModelObserver<C>(model, options);
}

/** A custom signal: `send(payload)` reaches its observers' subscribers at once (not on commit). */
export class Signal<Payload = Record<string, unknown>> {
  readonly #observers = new Set<SignalObserver<any, Payload>>();

  constructor(readonly name: string) {}

  /** @internal */
  attach(observer: SignalObserver<any, Payload>): void {
    this.#observers.add(observer);
  }

  /** Sends the payload to every group its observers sort it into. */
  send(payload: Payload): void {
    const hub = getChangeHub();
    for (const observer of this.#observers) {
      for (const group of observer.groupsFor(payload)) hub.publish(observer.topicFor(group), { payload });
    }
  }
}

export interface SignalObserverOptions<C extends AsyncAPIConsumer, Payload> extends ObserverOptions<C, Payload> {
  /** Turns the payload into the body. Default: the payload itself. */
  serializer?: (payload: Payload) => unknown;
}

/** Observes a custom signal (DCRF `@observer(signal)`). */
export class SignalObserver<C extends AsyncAPIConsumer, Payload> extends BaseObserver<C, Payload> {
  readonly #serialize: (payload: Payload) => unknown;

  constructor(
    readonly signal: Signal<Payload>,
    options: SignalObserverOptions<C, Payload>,
  ) {
    super(options);
    this.#serialize = options.serializer ?? ((payload) => payload);
    signal.attach(this);
  }

  /** @internal */
  groupsFor(payload: Payload): string[] {
    return this.groupsOf(payload);
  }

  /** @internal */
  topicFor(group: string): string {
    return this.topic(group);
  }

  protected topic(group: string): string {
    return getChangeHub().signalTopic(`${this.signal.name}/${this.name}`, group);
  }

  protected openTopic(_consumer: C, topic: string, onMessage: (message: { payload: Payload }) => void): Promise<() => void> {
    return getChangeHub().subscribe(topic, onMessage);
  }

  protected eventOf(message: { payload: Payload }, _group: string, _consumer: C): ObserverEvent {
    return { body: () => this.#serialize(message.payload), action: this.name, bodyKey: this };
  }
}

/** `observer(signal, options)`: DCRF's `@observer(signal)` with its groups API. */
export function observer<C extends AsyncAPIConsumer, Payload>(signal: Signal<Payload>, options: SignalObserverOptions<C, Payload>): SignalObserver<C, Payload> {
  return new SignalObserver<C, Payload>(signal, options);
}
