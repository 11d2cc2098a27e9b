/**
 * Model observers (DCRF `model_observer`): a model's committed changes sorted into groups, each
 * subscriber's events passed through the row scope of the resource it serves. The observer is its own
 * row grouping: a group subscription listens to the model's topic, and the hub judges each message
 * with `groupsOf(before)` / `groupsOf(after)` where it is received (events/groups.ts).
 */
import type { Model, ModelClass } from 'objection';
import type { ChangeMessage, PositionedUnsubscribe } from '../events/hub.js';
import { isTruncate, type ChangeAction, type Row } from '../events/records.js';
import { resourceCall, type Resource, type ResourceCall, type ResourceEvent } from '../resources/resource.js';
import { assertLiveModel } from '../models/live-model-check.js';
import { serializerInstance, type SerializerClass } from '../serializers/serializer.js';
import type { AsyncAPIConsumer } from './consumer.js';
import { GenericAsyncAPIConsumer } from './generic.js';
import { BaseObserver, type ObserverEvent, type ObserverOptions } from './group-observer.js';
import { frameKey } from './observer-shared.js';
import { RESYNC_ACTION } from './resync.js';

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

/** What a truncate is to every subscriber of a model observer: the `resync` event (no body: it names no row). */
const RESYNC_EVENT: ObserverEvent = { body: () => null, action: RESYNC_ACTION, bodyKey: RESYNC_ACTION, resync: true };

/** Observes a model's committed changes, sorted into groups (DCRF `model_observer`). */
export class ModelObserver<C extends AsyncAPIConsumer = AsyncAPIConsumer> extends BaseObserver<C, Row> {
  readonly #modelName: string;
  readonly #serialize: (row: Row, action: ChangeAction) => unknown;
  readonly #scoping = new WeakMap<Function, Resource | null>();
  /** Each consumer's call for judging its events through the resource (made on its first scoped event). */
  readonly #calls = new WeakMap<C, ResourceCall>();

  constructor(
    readonly model: ModelClass<Model>,
    options: ModelObserverOptions<C>,
  ) {
    super(options);
    // Defined over a plain Model it would accept subscriptions and never send an event: refuse it here.
    assertLiveModel(model, `modelObserver "${options.name}"`);
    this.#modelName = (model as unknown as { changeName?: string }).changeName ?? model.name;
    const serializer = options.serializer;
    const idColumn = model.idColumn as string;
    if (!serializer) this.#serialize = (row) => ({ pk: row[idColumn] });
    else if ('prototype' in serializer && typeof (serializer.prototype as { toRepresentation?: unknown }).toRepresentation === 'function') {
      const instance = serializerInstance(serializer as SerializerClass);
      this.#serialize = (row) => instance.toRepresentation(row);
    } else this.#serialize = serializer as (row: Row, action: ChangeAction) => unknown;
  }

  /** A model's changes have positions: a subscription may resume `since` one. */
  protected override get hasPositions(): boolean {
    return true;
  }

  protected openGroup(
    consumer: C,
    group: string,
    onMessage: (message: ChangeMessage) => void,
    since?: string,
  ): Promise<PositionedUnsubscribe> {
    return consumer.scope.runtime.hub.subscribeGroup(this.#modelName, this, group, onMessage, since);
  }

  protected eventOf(message: ChangeMessage, _group: string, consumer: C): ObserverEvent | undefined | Promise<ObserverEvent | undefined> {
    // Emptied: no row to serialize or judge; every subscriber is told to read again.
    if (isTruncate(message)) return RESYNC_EVENT;
    const resource = this.#scopeOf(consumer);
    if (!resource)
      return { body: () => this.#serialize(message.data, message.action), action: message.action, bodyKey: this, row: message.data };
    let call = this.#calls.get(consumer);
    if (!call) this.#calls.set(consumer, (call = resourceCall(consumer.scope)));
    const seen = resource.eventFor(call, message, 'broad');
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
    if (!event?.row || event.action === 'resync') return undefined;
    const { row, action } = event;
    const state = event.rowFrom === 'data' ? 'after' : event.rowFrom === 'before' ? 'before' : undefined;
    // A row re-read for this subscriber is its own: never shared through the message's memo.
    const key = (part: string) => (state ? frameKey(this, `${part}:${action}:${state}`) : {});
    return { body: () => this.#serialize(row, action), action, bodyKey: key('body'), frameKey: key('frame'), row };
  }
}

/** `modelObserver(Model, options)`: DCRF's `@model_observer(Model)` with its groups API. */
export function modelObserver<C extends AsyncAPIConsumer = AsyncAPIConsumer>(
  model: ModelClass<Model>,
  options: ModelObserverOptions<C>,
): ModelObserver<C> {
  return new ModelObserver<C>(model, options);
}
