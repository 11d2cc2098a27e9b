/**
 * `notes` (docs/demo.md): each user's own notes. The resource's row scope narrows every query, reply
 * and event to the caller's notes and its permission (IsAuthenticated) applies to every action, so
 * this consumer is the plain CRUD and subscriptions over it.
 */
import { action, type ActionArgs } from '../dcrf/actions.js';
import { GenericAsyncAPIConsumer, requireArg } from '../dcrf/generic.js';
import { CreateModelMixin, DeleteModelMixin, ListModelMixin, PatchModelMixin, RetrieveModelMixin } from '../dcrf/mixins.js';
import { consumerEventGate, frameKey, ObserverModelInstanceMixin } from '../dcrf/observers.js';
import { callSince, sinceOf, subscribedResult, trackSince } from '../dcrf/positions.js';
import { encodeValue, eventPrefix, STATUS, withRequestIdAt, type ActionResult } from '../dcrf/protocol.js';
import type { ResourceEvent } from '../resources/resource.js';
import type { Serializer } from '../serializers/serializer.js';
import { noteResource } from './resources.js';

/**
 * The frame text of a `subscribe_many` event without the request id: `create`/`update` with the row,
 * `delete` (204) with the last state the subscriber could see. Subscribers who see the same action
 * and state of a message share one text.
 */
function manyEventPrefix(serializer: Serializer, event: ResourceEvent): string {
  const row = event.row ?? event.message.data;
  const status = event.action === 'delete' ? STATUS.noContent : STATUS.ok;
  const frame = () => eventPrefix(event.action, JSON.stringify(serializer.toRepresentation(row)), status);
  const state = event.rowFrom === 'data' ? 'after' : event.rowFrom === 'before' ? 'before' : undefined;
  return state ? event.runtime.hub.memo(event.message, frameKey(serializer, `many:${event.action}:${state}`), frame) : frame();
}

/** `notes`: list, retrieve, create, patch, delete, instance subscriptions and `subscribe_many`, own notes only. */
export class NoteConsumer extends ObserverModelInstanceMixin(
  DeleteModelMixin(PatchModelMixin(CreateModelMixin(RetrieveModelMixin(ListModelMixin(GenericAsyncAPIConsumer))))),
) {
  static override resource = noteResource;

  /** Made on first subscribe_many (idle sockets hold none). */
  #many: Map<string, () => void> | undefined;

  /** `subscribe_many {request_id, since?}`: every create, update and delete of the caller's notes. */
  @action({ args: ['request_id', 'since'] })
  async subscribe_many(args: ActionArgs): Promise<ActionResult> {
    const requestId = requireArg(args, 'request_id');
    const key = this.clientKey('request_id', requestId);
    const since = sinceOf(args);
    this.#many?.get(key)?.();
    this.#many?.delete(key);
    const serializer = this.getSerializer();
    const gate = consumerEventGate(this);
    const { close, position } = await trackSince(
      this,
      since,
      () =>
        this.resource.subscribeAll(callSince(this.resourceCall(args), since), (event) =>
          gate(event.action, event.row, () => {
            const at = since === undefined ? undefined : event.message.position;
            this.sendText(withRequestIdAt(manyEventPrefix(serializer, event), requestId, at));
          }),
        ),
      // The frame's arguments stay with the subscription (the queryset hooks read them at each event).
      { bytes: key.length + encodeValue(args).length },
    );
    (this.#many ??= new Map()).set(key, close);
    return subscribedResult(position, STATUS.created);
  }

  /** `unsubscribe_many {request_id}` → 204. */
  @action({ args: ['request_id'] })
  async unsubscribe_many(args: ActionArgs): Promise<ActionResult> {
    const key = encodeValue(args.request_id ?? null);
    this.#many?.get(key)?.();
    this.#many?.delete(key);
    return [null, STATUS.noContent];
  }
}
