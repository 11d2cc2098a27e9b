/**
 * `subscribe_many {request_id, since?}` / `unsubscribe_many {request_id}`: every create, update and
 * delete of the consumer's resource, as the subscriber may see it (a row entering its scope is a
 * `create`, one leaving it a `delete` with the last state it saw). Events are
 * `{"action", "data": <serialized row>, "response_status": 200 | 204 for a delete}` with the subscribing
 * request's id; with `since`, the reply is `data: {"position": P}`, missed changes come first and every
 * event carries its `position`. Subscribers who see the same action and state of a change share one
 * frame text.
 */
import { ValidationError } from '../errors.js';
import type { ResourceEvent } from '../resources/resource.js';
import type { Serializer } from '../serializers/serializer.js';
import { pythonTypeName } from '../serializers/fields.js';
import { action, type ActionArgs } from './actions.js';
import { type GenericAsyncAPIConsumer, requireArg } from './generic.js';
import { consumerEventGate, frameKey, sendAtOnce, sharedUtf8Of } from './observer-shared.js';
import { callSince, sinceOf, subscribedResult, trackSince } from './positions.js';
import { resyncPrefix } from './resync.js';
import { encodeValue, eventPrefix, keyText, STATUS, withEncodedRequestIdAt, type ActionResult } from './protocol.js';

// biome-ignore lint/suspicious/noExplicitAny: a mixin's base constructor takes whatever its class takes
type GenericClass = abstract new (...args: any[]) => GenericAsyncAPIConsumer;

export interface ManyObserverOptions {
  /**
   * The name of an optional argument listing the primary keys to follow (the demo's `things`):
   * given, only those rows' changes are sent. Without it, every change of the resource.
   */
  filter?: string;
}

/** The memo kinds of a subscribe_many frame by action and row state (constant strings: no text made per event). */
const MANY_KINDS: Record<string, { after: string; before: string }> = {
  create: { after: 'many:create:after', before: 'many:create:before' },
  update: { after: 'many:update:after', before: 'many:update:before' },
  delete: { after: 'many:delete:after', before: 'many:delete:before' },
};

/** The frame text of an event without the request id; shared per (change, action, state) in this process. */
function manyEventPrefix(serializer: Serializer, event: ResourceEvent): string {
  if (event.action === 'resync') return resyncPrefix(event.runtime.hub, event.message);
  const kinds = MANY_KINDS[event.action];
  const kind = event.rowFrom === 'data' ? kinds?.after : event.rowFrom === 'before' ? kinds?.before : undefined;
  // A row re-read for this subscriber alone is its own frame.
  if (kind === undefined) return manyFrame(serializer, event);
  return event.runtime.hub.memo(event.message, frameKey(serializer, kind), manyFrame, serializer, event);
}

/** The frame text of an event's row (its last state for a delete), without the request id. */
function manyFrame(serializer: Serializer, event: ResourceEvent): string {
  const row = event.row ?? event.message.data;
  const status = event.action === 'delete' ? STATUS.noContent : STATUS.ok;
  return eventPrefix(event.action, JSON.stringify(serializer.toRepresentation(row)), status);
}

/**
 * The event handler of one subscribe_many, made by a function of its own so that its closure holds
 * exactly what an event needs in one context (see the instance observer's `instanceSender`): the
 * followed pks (`only`), the consumer's gate, its serializer and transport, the encoded request id.
 */
function manySender(
  consumer: GenericAsyncAPIConsumer,
  requestIdJson: string,
  positioned: boolean,
  only: Set<string> | undefined,
): (event: ResourceEvent) => void {
  const serializer = consumer.getSerializer();
  const gate = consumerEventGate(consumer);
  const transport = consumer.transport;
  // Without positions every event ends the same way: its frame is sent as bytes when the socket takes them.
  const tail = positioned ? undefined : transport.eventTailBytes?.(`${requestIdJson}}`);
  const bytes = tail && sharedUtf8Of(frameKey(serializer, 'many-utf8'));
  const send = (event: ResourceEvent) => {
    const prefix = manyEventPrefix(serializer, event);
    if (tail) transport.sendEventBytes!(bytes!.of(prefix), tail);
    else transport.sendEvent(withEncodedRequestIdAt(prefix, requestIdJson, positioned ? event.message.position : undefined));
  };
  return (event) => {
    // A resync names no row: it concerns every followed one.
    if (only && event.action !== 'resync' && !only.has(keyText(event.pk))) return;
    if (gate === sendAtOnce) send(event);
    else gate(event.action, event.row ?? event.message.data, () => send(event));
  };
}

/** Adds `subscribe_many` and `unsubscribe_many` to a generic consumer. */
export function ManyObserverMixin<T extends GenericClass>(Base: T, options: ManyObserverOptions = {}) {
  const filter = options.filter;

  abstract class ManyObserver extends Base {
    /** Made on first subscribe_many (idle sockets hold none). */
    #many: Map<string, () => void> | undefined;

    async subscribe_many(args: ActionArgs): Promise<ActionResult> {
      const requestId = requireArg(args, 'request_id');
      const key = this.clientKey('request_id', requestId);
      const since = sinceOf(args);
      const only = filter === undefined ? undefined : this.#pksOf(args, filter);
      this.#many?.get(key)?.();
      this.#many?.delete(key);
      const onEvent = manySender(this, key, since !== undefined, only);
      const { close, position } = await trackSince(
        this,
        since,
        () => this.resource.subscribeAll(callSince(this.resourceCall(args), since), onEvent),
        // The frame's arguments stay with the subscription (the queryset hooks read them at each event).
        { bytes: key.length + encodeValue(args).length },
      );
      (this.#many ??= new Map()).set(key, close);
      return subscribedResult(position, STATUS.created);
    }

    async unsubscribe_many(args: ActionArgs): Promise<ActionResult> {
      const key = encodeValue(args.request_id ?? null);
      this.#many?.get(key)?.();
      this.#many?.delete(key);
      return [null, STATUS.noContent];
    }

    /** The primary keys an optional list argument names, as key text; undefined when it is absent or null. */
    #pksOf(args: ActionArgs, name: string): Set<string> | undefined {
      const value = args[name];
      if (!(name in args) || value === null) return undefined;
      if (!Array.isArray(value))
        throw new ValidationError({ [name]: [`Expected a list of items but got type "${pythonTypeName(value)}".`] });
      this.clientKey(name, value);
      return new Set(value.map((pk: unknown) => keyText(pk)));
    }
  }

  // Registered here rather than with decorators: the filter argument is this mixin call's own.
  action({ args: filter === undefined ? ['request_id', 'since'] : ['request_id', filter, 'since'] })(ManyObserver.prototype.subscribe_many);
  action({ args: ['request_id'] })(ManyObserver.prototype.unsubscribe_many);
  return ManyObserver;
}
