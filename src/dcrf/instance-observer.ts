/**
 * Instance observers (docs/dcrf-protocol.md): `subscribe_instance` / `unsubscribe_instance`. Every
 * event is serialized once per message in this process; each subscribing request id only appends
 * itself to the shared frame text.
 */
import type { Row } from '../events/records.js';
import { logger } from '../logger.js';
import type { ResourceEvent } from '../resources/resource.js';
import type { Serializer } from '../serializers/serializer.js';
import { action, type ActionArgs } from './actions.js';
import { type GenericAsyncAPIConsumer, requireArg, requirePk } from './generic.js';
import { consumerEventGate, frameKey, sendAtOnce, sharedUtf8Of } from './observer-shared.js';
import { callSince, checkSince, sinceOf, subscribedResult, trackSince } from './positions.js';
import { resyncPrefix } from './resync.js';
import { encodeValue, eventPrefix, STATUS, withEncodedRequestIdAt, type ActionResult } from './protocol.js';

type GenericClass = abstract new (...args: any[]) => GenericAsyncAPIConsumer;

const NOT_FOUND_ERRORS = ['Not found'];

/** The frame text of a subscribe_instance event, without the request id. */
function instanceEventPrefix(serializer: Serializer, updateKey: object, event: ResourceEvent): string {
  if (event.action === 'resync') return resyncPrefix(event.runtime.hub, event.message);
  if (event.action === 'delete') {
    // Exactly {"pk": pk} whatever the serializer calls its key: dcrf-client matches it deeply.
    return event.runtime.hub.memo(event.message, 'instance-delete', () =>
      eventPrefix('delete', `{"pk":${encodeValue(event.pk)}}`, STATUS.noContent),
    );
  }
  if (event.row === null) return eventPrefix('update', 'null', STATUS.notFound, NOT_FOUND_ERRORS);
  if (event.rowFrom !== 'data') {
    return eventPrefix('update', JSON.stringify(serializer.toRepresentation(event.row)), STATUS.ok);
  }
  // A create reaches the row's topic too (a row re-created under a pk someone watches): DCRF
  // reports every change of a watched row as `update`.
  return event.runtime.hub.memo(event.message, updateKey, updatePrefix, serializer, event);
}

/** The `update` frame text of an event's row (which is there). */
function updatePrefix(serializer: Serializer, event: ResourceEvent): string {
  return eventPrefix('update', JSON.stringify(serializer.toRepresentation(event.row as Row)), STATUS.ok);
}

/**
 * The event handler of one subscribe_instance. Made by a function of its own so that the closure
 * holds exactly what an event needs in one context: at 10,000 subscribers, each object read per
 * subscriber per event is a cache miss, and a closure made inside the action would read two contexts
 * (the block's and the action's) and the consumer besides. The serializer is the consumer's at
 * subscribe (as `subscribe_many`'s is); the frame goes out through the consumer's transport, as
 * `sendText` sends it.
 */
function instanceSender(consumer: GenericAsyncAPIConsumer, requestIdJson: string, positioned: boolean): (event: ResourceEvent) => void {
  const serializer = consumer.getSerializer();
  const updateKey = frameKey(serializer, 'instance-update');
  const transport = consumer.transport;
  // Without positions every event ends the same way: its frame is sent as bytes when the socket takes them.
  const tail = positioned ? undefined : transport.eventTailBytes?.(`${requestIdJson}}`);
  const bytes = tail && sharedUtf8Of(frameKey(serializer, 'instance-utf8'));
  return (event) => {
    // A serializer that throws on one row must not end the subscription nor reach the client.
    try {
      const prefix = instanceEventPrefix(serializer, updateKey, event);
      if (tail) transport.sendEventBytes!(bytes!.of(prefix), tail);
      else transport.sendEvent(withEncodedRequestIdAt(prefix, requestIdJson, positioned ? event.message.position : undefined));
    } catch (error) {
      logger.error('instance event failed', {
        stream: consumer.scope.stream,
        request_id: JSON.parse(requestIdJson) as unknown,
        pk: event.pk,
        error: String((error as Error)?.stack ?? error),
      });
    }
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
 * With `since`, the reply is `data: {"position": P}`, the changes after `since` are replayed first and
 * every event carries its `position`; a second subscribe of the same pk and request id with `since`
 * replaces the first.
 */
export function ObserverModelInstanceMixin<T extends GenericClass>(Base: T) {
  abstract class ObserverModelInstance extends Base {
    /** Made on first subscribe (idle sockets hold none). */
    #instanceSubscriptions: Map<string, InstanceSubscription> | undefined;

    @action({ args: ['pk', 'request_id', 'since'] })
    async subscribe_instance(args: ActionArgs): Promise<ActionResult> {
      const pk = requirePk(args);
      const requestId = requireArg(args, 'request_id');
      const since = sinceOf(args);
      const entry: InstanceSubscription = { pk: String(pk), requestId: this.clientKey('request_id', requestId), close: () => undefined };
      this.clientKey('pk', pk);
      const key = `${entry.pk}\u0000${entry.requestId}`;
      if (since !== undefined) {
        // Resuming replaces the subscription (both open at once would send the live events twice), once
        // its position is known to resume: a refused resubscribe keeps the subscription it would replace.
        await checkSince(this, since);
        this.#instanceSubscriptions?.get(key)?.close();
        this.#instanceSubscriptions?.delete(key);
      }
      let position: string | undefined;
      if (!this.#instanceSubscriptions?.has(key)) {
        const gate = consumerEventGate(this);
        const send = instanceSender(this, entry.requestId, since !== undefined);
        // The frame's arguments stay with the subscription (the queryset hooks read them at each event).
        const cost = { bytes: key.length + encodeValue(args).length };
        const subscription = await trackSince(
          this,
          since,
          () =>
            this.resource.subscribeInstance(
              callSince(this.resourceCall(args), since),
              pk,
              gate === sendAtOnce ? send : (event) => gate(event.action, event.row ?? event.message.data, () => send(event)),
            ),
          cost,
        );
        position = subscription.position;
        // A subscribe of the same pk and request id that went live meanwhile wins, unless this one resumes.
        const rival = this.#instanceSubscriptions?.get(key);
        if (rival && since === undefined) subscription.close();
        else {
          rival?.close();
          (this.#instanceSubscriptions ??= new Map()).set(key, { ...entry, close: subscription.close });
        }
      }
      return subscribedResult(position, STATUS.created);
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
