/**
 * The change feed on the DCRF wire (docs/positions.md, "DCRF"): a subscribe's `since`, a read's
 * `with_position`, and the change log's refusals as the protocol's replies (400 for a malformed
 * position, 410 with the head for an expired one). Opt-in: a frame without these keys is served as today.
 */
import { ValidationError } from '../errors.js';
import { PositionError, type Position } from '../events/change-log.js';
import type { PositionedUnsubscribe } from '../events/hub.js';
import type { ResourceCall } from '../resources/resource.js';
import { ChangeLogOff } from '../runtime.js';
import type { ActionArgs } from './actions.js';
import type { AsyncAPIConsumer, SubscriptionCost } from './consumer.js';
import { MESSAGES, POSITION_KEYS, PositionExpired, type ActionResult } from './protocol.js';

/**
 * A frame's `since` as the resource layer takes it: undefined when the frame has none (today's
 * subscription), else the text ("latest" or a position); anything but a string is a malformed position.
 */
export function sinceOf(args: ActionArgs): string | undefined {
  const since = args[POSITION_KEYS.since];
  if (since === undefined) return undefined;
  if (typeof since !== 'string') throw malformedSince();
  return since;
}

/** The 400 of a `since` that is no position: `{"since": ["Not a valid position."]}`. */
export function malformedSince(): ValidationError {
  return new ValidationError({ [POSITION_KEYS.since]: [MESSAGES.positionMalformed] });
}

/** The 400 of a `since` on a subscription that is not about model rows (a custom signal). */
export function sinceWithoutPositions(): ValidationError {
  return new ValidationError({ [POSITION_KEYS.since]: [MESSAGES.noPositions] });
}

/**
 * The 400 of a position asked of an app that keeps no change log, on the frame's key that asked
 * (`since` or `with_position`): `{"since": ["This server keeps no change log: positions are off."]}`.
 */
export function positionsOff(key: string = POSITION_KEYS.since): ValidationError {
  return new ValidationError({ [key]: [ChangeLogOff.MESSAGE] });
}

/**
 * The change log's refusal as the DCRF reply it makes: 400 malformed, 410 expired (with the head), 400
 * when the app keeps no log; anything else as it is.
 */
export function toProtocolError(error: unknown): unknown {
  if (error instanceof ChangeLogOff) return positionsOff();
  if (!(error instanceof PositionError)) return error;
  if (error.kind === 'malformed') return malformedSince();
  return new PositionExpired(error.head ?? '');
}

/** A resource call that subscribes since `since` (the call itself when there is none). */
export function callSince(call: ResourceCall, since: string | undefined): ResourceCall {
  return since === undefined ? call : { ...call, since };
}

/** What `trackSince` resolves with: the tracked closer and, for a subscription made with `since`, its position. */
export interface TrackedSubscription {
  close: () => void;
  position: Position | undefined;
}

/**
 * Refuses a `since` that cannot resume (malformed 400, expired 410, no change log 400) before anything
 * changes: a resubscribe that replaces a subscription checks first, so a refused one keeps the old.
 */
export async function checkSince(consumer: AsyncAPIConsumer, since: string | undefined): Promise<void> {
  if (since === undefined) return;
  if (!consumer.scope.runtime.changeLog.enabled) throw positionsOff();
  if (since === 'latest') return;
  try {
    await consumer.scope.runtime.changeLog.check(since);
  } catch (error) {
    throw toProtocolError(error);
  }
}

/**
 * Opens a subscription through `consumer.track` (counted against the socket's limits, dropped on
 * disconnect), keeping the position its unsubscribe carries when it was made `since` one (one made
 * without reports none: its client sees today's frames); the change log's refusals become the
 * protocol's 400 and 410, with no subscription made.
 */
export async function trackSince(
  consumer: AsyncAPIConsumer,
  since: string | undefined,
  open: () => Promise<PositionedUnsubscribe>,
  cost: SubscriptionCost,
): Promise<TrackedSubscription> {
  // Refused before anything opens: without a log a subscription cannot resume nor report a position.
  if (since !== undefined && !consumer.scope.runtime.changeLog.enabled) throw positionsOff();
  let position: Position | undefined;
  try {
    const close = await consumer.track(async () => {
      const unsubscribe = await open();
      if (since !== undefined) position = unsubscribe.position;
      return unsubscribe;
    }, cost);
    return { close, position };
  } catch (error) {
    throw toProtocolError(error);
  }
}

/** A subscribe action's result: 201 with `data: {"position": P}` when made with `since`, else today's `null`. */
export function subscribedResult(position: Position | undefined, status: number): ActionResult {
  return [position === undefined ? null : { [POSITION_KEYS.position]: position }, status];
}

/**
 * The head to anchor a read at when the frame asks `"with_position": true`, taken before the read
 * runs (every change at or before it is in the data); undefined otherwise.
 */
export function readAnchor(consumer: AsyncAPIConsumer, args: ActionArgs): Promise<Position> | undefined {
  if (args[POSITION_KEYS.withPosition] !== true) return undefined;
  if (!consumer.scope.runtime.changeLog.enabled) return Promise.reject(positionsOff(POSITION_KEYS.withPosition));
  // Naming the read's model starts logging it if nobody observed it yet, so the changes between this
  // read and a later `since` subscribe are in the log.
  return consumer.scope.runtime.changeLog.head(modelOf(consumer));
}

/** The model a consumer's reads are about, when it serves one (a generic consumer's resource). */
function modelOf(consumer: AsyncAPIConsumer): string | undefined {
  try {
    return (consumer as unknown as { resource?: { modelName?: string } }).resource?.modelName;
  } catch {
    return undefined; // a consumer without a queryset: nothing to name
  }
}

/** A read's result, with the position it is anchored at when it was asked for one. */
export function anchoredResult(data: unknown, status: number, position: Position | undefined): ActionResult {
  return position === undefined ? [data, status] : [data, status, position];
}
