/**
 * The DCRF wire protocol's constants and encoders, named once (docs/dcrf-protocol.md).
 */
import { APIError, BadRequest } from '../errors.js';

export const MESSAGES = {
  missingAction: 'Unable to find action in message body.',
  internal: 'Internal server error',
  notObject: 'Invalid message: expected a JSON object',
  nestedTooDeeply: 'Invalid message: nested too deeply',
  binaryFrame: 'Invalid message: binary frames are not accepted',
  emptyFrame: 'Invalid message: empty frame',
  multiplexShape: 'Invalid message: expected {"stream", "payload"}',
  tooManySubscriptions: 'Too many subscriptions.',
  throttled: 'Request was throttled.',
  unknownStream: (stream: string) => `Unknown stream "${stream}".`,
  positionExpired: 'Position expired: read again and subscribe since the position of that read.',
  positionMalformed: 'Not a valid position.',
  noPositions: 'This subscription has no positions.',
} as const;

/** The frame keys of the change feed (docs/positions.md): a subscribe's `since`, a read's `with_position`, a reply's or event's `position`. */
export const POSITION_KEYS = { since: 'since', withPosition: 'with_position', position: 'position' } as const;

export const STATUS = {
  ok: 200,
  created: 201,
  noContent: 204,
  /** A `resync` event: the subscriber's view must be read again (its model's table was emptied). */
  resetContent: 205,
  badRequest: 400,
  forbidden: 403,
  notFound: 404,
  methodNotAllowed: 405,
  gone: 410,
  throttled: 429,
  internal: 500,
} as const;

/** Close codes this gateway uses on DCRF sockets. */
export const CLOSE = {
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
} as const;

/** The closes a DCRF session makes itself: code and reason. */
export const SESSION_CLOSE = {
  /** Frames kept coming over the rate for longer than `throttleCloseMs`. */
  rateLimited: { code: CLOSE.policyViolation, reason: 'Rate limit exceeded' },
  /** The socket's unsent output passed `maxBufferedBytes`. */
  slowConsumer: { code: CLOSE.tryAgainLater, reason: 'Slow consumer' },
  /** The socket's user was deleted or deactivated after it connected. */
  userGone: { code: CLOSE.policyViolation, reason: 'User is no longer active' },
  /** A consumer's `onConnect` failed. */
  connectFailed: { code: CLOSE.internalError, reason: 'Internal server error' },
} as const;

/** Longest client-chosen key (request id, pk, group argument) by default, in bytes of its JSON. */
export const DEFAULT_MAX_KEY_BYTES = 256;

/** The subprotocol a DCRF client may name explicitly. */
export const DCRF_SUBPROTOCOL = 'dcrf';

/**
 * An action's result: `[data, status]`, as DCRF actions return `(data, status)`; a read asked
 * `with_position` adds the change-log position it is anchored at, sent as a top-level `"position"`.
 */
export type ActionResult = [data: unknown, status: number, position?: string] | undefined | undefined;

/** Encodes a reply with the five keys in DCRF's order (and `position` after them, for an anchored read). */
export function encodeReply(
  action: unknown,
  data: unknown,
  status: number,
  requestId: unknown,
  errors: readonly unknown[] = [],
  position?: string,
): string {
  return (
    '{"errors":' +
    JSON.stringify(errors) +
    ',"data":' +
    encodeValue(data) +
    ',"action":' +
    encodeValue(action) +
    ',"response_status":' +
    status +
    ',"request_id":' +
    encodeValue(requestId) +
    (position === undefined ? '}' : `,"position":${JSON.stringify(position)}}`)
  );
}

/** An already-encoded data value followed by the rest of an event reply; `request_id` is appended per subscriber. */
export function eventPrefix(action: string, dataJson: string, status: number, errors: unknown[] = []): string {
  return (
    '{"errors":' +
    JSON.stringify(errors) +
    ',"data":' +
    dataJson +
    ',"action":' +
    JSON.stringify(action) +
    ',"response_status":' +
    status +
    ',"request_id":'
  );
}

/** Completes an event prefix with a subscriber's request id. */
export function withRequestId(prefix: string, requestId: unknown): string {
  return `${prefix}${encodeValue(requestId)}}`;
}

/**
 * Completes an event prefix with a subscriber's request id and, for a subscription made with `since`
 * (`position` given), the change's position beside it; without one, exactly `withRequestId`.
 */
export function withRequestIdAt(prefix: string, requestId: unknown, position: string | undefined): string {
  return withEncodedRequestIdAt(prefix, encodeValue(requestId), position);
}

/**
 * `withRequestIdAt` for a request id already encoded as JSON (`encodeValue`): observers encode their
 * subscribers' ids once, at subscribe, rather than once per event.
 */
export function withEncodedRequestIdAt(prefix: string, requestIdJson: string, position: string | undefined): string {
  if (position === undefined) return `${prefix + requestIdJson}}`;
  return `${prefix + requestIdJson},"position":${JSON.stringify(position)}}`;
}

/** JSON for any value, with undefined (and anything JSON cannot hold) as null. */
export function encodeValue(value: unknown): string {
  if (value === undefined) return 'null';
  const text = JSON.stringify(value);
  return text === undefined ? 'null' : text;
}

/**
 * A client-sent value as text, for keys, group names and query strings: strings as they are, anything
 * else as JSON. Never String(): a parsed object may carry its own `toString` key, and String() throws on it.
 */
export function keyText(value: unknown): string {
  return typeof value === 'string' ? value : encodeValue(value);
}

/**
 * 410: a `since` older than the change log keeps (pruned, or of another log). No subscription is made;
 * the reply's data is `{"position": head}`, how far the log is.
 */
export class PositionExpired extends APIError {
  /** The reply's data: the log's current head. */
  readonly data: { position: string };
  constructor(head: string) {
    super(STATUS.gone, MESSAGES.positionExpired, 'POSITION_EXPIRED');
    this.data = { position: head };
  }
}

/** The reply for an error raised while handling `action`. */
export function encodeError(action: unknown, requestId: unknown, error: APIError): string {
  return encodeReply(action, error instanceof PositionExpired ? error.data : null, error.status, requestId, error.detail);
}

/** Finds the nesting depth of a JSON text without parsing it, stopping once it passes `limit`. */
export function exceedsDepth(text: string, limit: number): boolean {
  if (text.length < limit * 2) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/** Parses a text frame into a JSON object, or throws BadRequest with the protocol's reason. */
export function parseObject(text: string, maxDepth: number): Record<string, unknown> {
  if (text.length === 0) throw new BadRequest(MESSAGES.emptyFrame);
  if (exceedsDepth(text, maxDepth)) throw new BadRequest(MESSAGES.nestedTooDeeply);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BadRequest(`Invalid message: ${shortReason(error)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BadRequest(MESSAGES.notObject);
  return value as Record<string, unknown>;
}

function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // V8 quotes a slice of the input; keep the reason short and free of the client's text.
  const cut = message.replace(/,? ?"[\s\S]*$/, '').replace(/\s+in JSON at position.*$/, '');
  return (cut || 'not valid JSON').slice(0, 80);
}
