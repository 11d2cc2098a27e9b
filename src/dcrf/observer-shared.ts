/**
 * What the DCRF observers share: memo keys for frames serialized once per message, their bytes, and
 * the gate that adds a consumer's own permission to the events it is sent.
 */
import type { Row } from '../events/records.js';
import { AllowAny, mayReceiveEvent } from '../permissions.js';
import { InOrder } from '../resources/in-order.js';
import { SharedUtf8 } from '../text-frames.js';
import type { AsyncAPIConsumer } from './consumer.js';
import type { GenericAsyncAPIConsumer } from './generic.js';
import { RESYNC_ACTION } from './resync.js';

const memoKeys = new WeakMap<object, Map<string, object>>();
const sharedTexts = new WeakMap<object, SharedUtf8>();

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

/**
 * The bytes of one kind of frame text (a `frameKey`), shared by every subscriber sending it as bytes:
 * the first to send an event's text encodes it (see text-frames.ts).
 */
export function sharedUtf8Of(key: object): SharedUtf8 {
  let shared = sharedTexts.get(key);
  if (!shared) sharedTexts.set(key, (shared = new SharedUtf8()));
  return shared;
}

/**
 * Runs `send` for an event only when the consumer's own permission allows it (docs/dcrf-protocol.md, "Events":
 * nothing is sent when denied), keeping the consumer's events in order while checks are pending.
 * The resource checks its own permission already; this adds the consumer's when it is a different one.
 * A `resync` (the model's table emptied) is sent whatever the permission: it names no row.
 */
export function consumerEventGate(consumer: GenericAsyncAPIConsumer): (action: string, object: Row | null, send: () => void) => void {
  const permission = (consumer.constructor as typeof AsyncAPIConsumer).permission();
  if (permission instanceof AllowAny || permission === consumer.resource.permission) return sendAtOnce;
  const queue = new InOrder();
  return (action, object, send) =>
    queue.run(async () => {
      // A resync reveals no row: every subscriber gets it, in line behind the events before it.
      if (action === RESYNC_ACTION) {
        send();
        return;
      }
      const allowed = object
        ? await mayReceiveEvent(permission, consumer.scope, { action, args: {}, consumer, object })
        : await permission.hasPermission(consumer.scope, { action, args: {}, consumer });
      if (allowed) send();
    }, ignore);
}

/**
 * The gate of a consumer whose permission the resource already checked: the event goes at once. Its
 * observers hand events straight on when they get this gate (no closure per event).
 */
export const sendAtOnce = (_action: string, _object: Row | null, send: () => void): void => send();

/** A refused or failing check sends nothing (and says nothing: the event is simply not the consumer's). */
function ignore(): void {}
