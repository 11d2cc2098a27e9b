/**
 * The DCRF console's bookkeeping, free of React and sockets: frames in and out become log entries,
 * replies are matched to their requests by (stream, request_id, action), successful subscribe_*
 * replies open subscriptions, and the events that carry a subscription's request_id are grouped under it.
 * A subscription made with `since` keeps the last position it saw; when the socket closes it stays
 * listed as resumable, and "resume from here" subscribes again since that position.
 */

export type Direction = 'out' | 'in' | 'info';
export type EntryKind = 'request' | 'reply' | 'event' | 'frame' | 'info';

export interface LogEntry {
  id: number;
  direction: Direction;
  kind: EntryKind;
  time: string;
  /** The stream the frame belongs to (null on an unknown stream or an unwrapped error). */
  stream: string | null;
  /** The DCRF frame itself (unwrapped from the multiplexer envelope). */
  frame: unknown;
  action?: string;
  status?: number;
  requestId?: unknown;
  /** Red in the log: a status of 400 and up, or non-empty `errors`. */
  error: boolean;
  /** For a reply: the log id of its request. For a request: the statuses of its replies so far. */
  replyTo?: number;
  replies?: number[];
  /** For an event: the subscription it was grouped under. */
  subscription?: string;
  /** The frame's change-log position (an event of a subscription made with `since`, an anchored read). */
  position?: string;
  text?: string;
}

export interface Subscription {
  key: string;
  stream: string;
  action: string;
  /** The action that ends it, when the stream has one. */
  unsubscribeAction?: string;
  /** The subscribe frame's arguments, request_id included. */
  args: Record<string, unknown>;
  requestId: unknown;
  /** Log ids of its events, oldest first. */
  events: number[];
  /** The newest position it saw (its subscribe reply's, then each event's): where a resume starts. */
  lastPosition?: string;
}

interface PendingRequest {
  logId: number;
  stream: string;
  action: string;
  args: Record<string, unknown>;
}

export interface ConsoleState {
  log: LogEntry[];
  subscriptions: Subscription[];
  /** Requests by (stream, request_id); several actions may share one id (an unsubscribe reuses its subscribe's). */
  pending: Record<string, PendingRequest[]>;
  nextLogId: number;
  nextRequestId: number;
  /** The last object seen per stream, to prefill payloads (its pk, its fields). */
  lastObject: Record<string, Record<string, unknown>>;
  /** Subscriptions with a position that a closed socket ended: "resume from here" re-subscribes since it. */
  resumable: Subscription[];
}

export const MAX_LOG_ENTRIES = 2000;

export function initialState(): ConsoleState {
  return { log: [], subscriptions: [], pending: {}, nextLogId: 1, nextRequestId: 1, lastObject: {}, resumable: [] };
}

/** The key a request and its replies and events share. */
export function requestKey(stream: string | null, requestId: unknown): string {
  return `${stream ?? ''}\u0000${JSON.stringify(requestId ?? null)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasErrors(frame: Record<string, unknown>): boolean {
  const status = typeof frame.response_status === 'number' ? frame.response_status : 0;
  return status >= 400 || (Array.isArray(frame.errors) && frame.errors.length > 0);
}

/** A frame's top-level `position`, when it has one. */
function positionOf(frame: Record<string, unknown>): string | undefined {
  return typeof frame.position === 'string' ? frame.position : undefined;
}

/** The position a subscribe reply made with `since` carries in its data. */
function replyPosition(data: unknown): string | undefined {
  return isObject(data) && typeof data.position === 'string' ? data.position : undefined;
}

function now(): string {
  return new Date().toLocaleTimeString(undefined, { hour12: false });
}

function append(state: ConsoleState, entry: Omit<LogEntry, 'id' | 'time'>): [ConsoleState, LogEntry] {
  const full: LogEntry = { ...entry, id: state.nextLogId, time: now() };
  const log = [...state.log, full];
  if (log.length > MAX_LOG_ENTRIES) log.splice(0, log.length - MAX_LOG_ENTRIES);
  return [{ ...state, log, nextLogId: state.nextLogId + 1 }, full];
}

function updateEntry(log: LogEntry[], id: number, change: (entry: LogEntry) => LogEntry): LogEntry[] {
  return log.map((entry) => (entry.id === id ? change(entry) : entry));
}

/** The unsubscribe action for a subscribe action, among the stream's actions when they are known. */
export function unsubscribeActionFor(action: string, actions?: string[]): string | undefined {
  const candidates = [`un${action}`, action.replace(/^subscribe_to_/, 'unsubscribe_from_')];
  if (!actions) return candidates[0];
  return candidates.find((name) => actions.includes(name));
}

/** Records a frame about to be sent; assigns a request_id when the payload has none. */
export function recordOutgoing(
  state: ConsoleState,
  stream: string,
  payload: Record<string, unknown>,
): [ConsoleState, Record<string, unknown>] {
  let next = state;
  let frame = payload;
  if (!('request_id' in frame)) {
    frame = { ...frame, request_id: state.nextRequestId };
    next = { ...next, nextRequestId: state.nextRequestId + 1 };
  } else if (typeof frame.request_id === 'number' && frame.request_id >= next.nextRequestId) {
    next = { ...next, nextRequestId: frame.request_id + 1 };
  }
  const action = typeof frame.action === 'string' ? frame.action : undefined;
  const [appended, entry] = append(next, {
    direction: 'out',
    kind: 'request',
    stream,
    frame,
    action,
    requestId: frame.request_id,
    error: false,
    replies: [],
  });
  const key = requestKey(stream, frame.request_id);
  const pending = {
    ...appended.pending,
    [key]: [...(appended.pending[key] ?? []), { logId: entry.id, stream, action: action ?? '', args: frame }],
  };
  return [{ ...appended, pending }, frame];
}

/** Records a frame received on `stream`; `actionsOf` lists a stream's actions (for unsubscribe names). */
export function recordIncoming(
  state: ConsoleState,
  stream: string | null,
  frame: unknown,
  actionsOf: (stream: string) => string[] | undefined,
): ConsoleState {
  if (!isObject(frame)) {
    return append(state, { direction: 'in', kind: 'frame', stream, frame, error: false })[0];
  }
  const action = typeof frame.action === 'string' ? frame.action : undefined;
  const status = typeof frame.response_status === 'number' ? frame.response_status : undefined;
  const requestId = frame.request_id;
  const error = hasErrors(frame);
  const position = positionOf(frame);
  const key = requestKey(stream, requestId);
  // An error reply to a frame without `action` echoes `action: null`.
  const request = (state.pending[key] ?? []).find((p) => p.action === (action ?? ''));
  let next = rememberObject(state, stream, frame.data);

  if (request) {
    const [appended] = append(next, {
      direction: 'in',
      kind: 'reply',
      stream,
      frame,
      action,
      status,
      requestId,
      error,
      replyTo: request.logId,
      position,
    });
    next = {
      ...appended,
      log: updateEntry(appended.log, request.logId, (e) => ({
        ...e,
        replies: [...(e.replies ?? []), status ?? 0],
        error: e.error || error,
      })),
    };
    if (!error && status !== undefined && status < 300) next = afterSuccess(next, request, actionsOf, replyPosition(frame.data));
    return next;
  }
  const subscription = stream === null ? undefined : next.subscriptions.find((s) => s.key === key);
  if (subscription) {
    const [appended, entry] = append(next, {
      direction: 'in',
      kind: 'event',
      stream,
      frame,
      action,
      status,
      requestId,
      error,
      subscription: subscription.key,
      position,
    });
    const seen = (s: Subscription): Subscription => ({ ...s, events: [...s.events, entry.id], lastPosition: position ?? s.lastPosition });
    return {
      ...appended,
      subscriptions: appended.subscriptions.map((s) => (s.key === subscription.key ? seen(s) : s)),
    };
  }
  return append(next, { direction: 'in', kind: 'frame', stream, frame, action, status, requestId, error, position })[0];
}

/**
 * A successful reply: subscribe_* opens a subscription (a resumed one leaves the resumable list),
 * unsubscribe_* closes the ones it names.
 */
function afterSuccess(
  state: ConsoleState,
  request: PendingRequest,
  actionsOf: (stream: string) => string[] | undefined,
  position: string | undefined,
): ConsoleState {
  const key = requestKey(request.stream, request.args.request_id);
  if (/^subscribe/.test(request.action)) {
    const resumable = state.resumable.filter((s) => !(s.key === key && s.action === request.action));
    if (state.subscriptions.some((s) => s.key === key && s.action === request.action)) return { ...state, resumable };
    const subscription: Subscription = {
      key,
      stream: request.stream,
      action: request.action,
      unsubscribeAction: unsubscribeActionFor(request.action, actionsOf(request.stream)),
      args: request.args,
      requestId: request.args.request_id,
      events: [],
      lastPosition: position,
    };
    return { ...state, subscriptions: [...state.subscriptions, subscription], resumable };
  }
  if (/^unsubscribe/.test(request.action)) {
    const named = withoutRequestId(request.args);
    const ended = (s: Subscription) =>
      s.stream === request.stream && s.unsubscribeAction === request.action && (s.key === key || sameJson(withoutRequestId(s.args), named));
    return { ...state, subscriptions: state.subscriptions.filter((s) => !ended(s)) };
  }
  return state;
}

function withoutRequestId(args: Record<string, unknown>): Record<string, unknown> {
  const { request_id: _ignored, action: _action, ...rest } = args;
  return rest;
}

function sameJson(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

/** JSON with object keys sorted at every level, so key order does not matter. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function rememberObject(state: ConsoleState, stream: string | null, data: unknown): ConsoleState {
  if (stream === null) return state;
  let object: unknown = data;
  if (Array.isArray(data)) object = data[data.length - 1];
  else if (isObject(data) && Array.isArray(data.results)) object = data.results[data.results.length - 1];
  if (!isObject(object) || !('pk' in object || 'id' in object)) return state;
  return { ...state, lastObject: { ...state.lastObject, [stream]: object } };
}

/** The frame for ending a subscription: its unsubscribe action with the same arguments and request_id. */
export function unsubscribeFrame(subscription: Subscription): Record<string, unknown> | undefined {
  if (!subscription.unsubscribeAction) return undefined;
  return { ...subscription.args, action: subscription.unsubscribeAction };
}

/** An informational line (connected, closed, refused). */
export function recordInfo(state: ConsoleState, text: string, error = false): ConsoleState {
  return append(state, { direction: 'info', kind: 'info', stream: null, frame: null, error, text })[0];
}

/** The frame that resumes an ended subscription: its subscribe frame, since the last position it saw. */
export function resumeFrame(subscription: Subscription): Record<string, unknown> | undefined {
  if (subscription.lastPosition === undefined) return undefined;
  return { ...subscription.args, since: subscription.lastPosition };
}

/**
 * The socket closed: the server dropped every subscription and no reply will come. Those that had a
 * position stay listed as resumable (one per request id and action, the newest).
 */
export function recordDisconnect(state: ConsoleState): ConsoleState {
  const ended = state.subscriptions.filter((s) => s.lastPosition !== undefined);
  const kept = state.resumable.filter((old) => !ended.some((s) => s.key === old.key && s.action === old.action));
  return { ...state, subscriptions: [], pending: {}, resumable: [...kept, ...ended] };
}

/** A starting payload for an action from its argument names and what the stream last showed. */
export function prefillPayload(action: string, args: string[], lastObject?: Record<string, unknown>): Record<string, unknown> {
  const payload: Record<string, unknown> = { action };
  const pk = lastObject ? (lastObject.pk ?? lastObject.id) : undefined;
  for (const name of args) {
    if (name === 'request_id') continue; // the console assigns one
    // Opt-in keys of the change feed: today's frames unless the user adds `"since": "latest"` or `"with_position": true`.
    if (name === 'since' || name === 'with_position') continue;
    if (name === 'pk') payload.pk = pk ?? 1;
    else if (name === 'data') payload.data = dataTemplate(action, lastObject);
    else if (name === 'limit') payload.limit = 10;
    else if (name === 'offset') payload.offset = 0;
    else if (name === 'query') payload.query = {};
    else if (name === 'things') payload.things = pk === undefined ? [] : [pk];
    else if (/(_pk|_id)$/.test(name)) payload[name] = 1;
    else payload[name] = '';
  }
  return payload;
}

function dataTemplate(action: string, lastObject?: Record<string, unknown>): Record<string, unknown> {
  if (!lastObject) return {};
  const { pk: _pk, id: _id, ...fields } = lastObject;
  if (action === 'patch') {
    const [first] = Object.entries(fields);
    return first ? { [first[0]]: first[1] } : {};
  }
  return fields;
}
