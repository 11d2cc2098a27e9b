/**
 * Typed errors of the resource layer. Every protocol maps them to its own wire shape at the edge:
 * the DCRF envelope (`errors` + `response_status`) or GraphQL `extensions` (`code`, `status`, `fields`).
 */

/**
 * One field's errors as DRF renders them: its messages, or the same shape per item, key or nested field
 * for lists (`{"tags": {"1": ["Not a valid string."]}}`), dicts and nested serializers.
 */
export type ErrorDetail = string[] | ErrorDetail[] | { [key: string]: ErrorDetail };

/** A field map as DRF renders validation errors: `{"name": ["This field is required."]}`. */
export type FieldErrors = Record<string, ErrorDetail>;

/** DRF's NON_FIELD_ERRORS_KEY: where errors about the whole input go. */
export const NON_FIELD_ERRORS = 'non_field_errors';

/** Every message of an error detail, depth first (for logs and error messages). */
export function flattenDetail(detail: ErrorDetail): string[] {
  if (Array.isArray(detail))
    return (detail as unknown[]).flatMap((item) => (typeof item === 'string' ? [item] : flattenDetail(item as ErrorDetail)));
  return Object.values(detail).flatMap(flattenDetail);
}

/** Base of every error that carries its own status; user code may throw subclasses from actions. */
export class APIError extends Error {
  /** HTTP-like status sent as `response_status` (DCRF) or `extensions.status` (GraphQL). */
  readonly status: number;
  /** What goes into DCRF's `errors` list. */
  readonly detail: unknown[];
  /** GraphQL `extensions.code`. */
  readonly code: string;

  constructor(status: number, detail: unknown[] | string, code = 'ERROR') {
    const list = Array.isArray(detail) ? detail : [detail];
    super(typeof list[0] === 'string' ? (list[0] as string) : `${code} (${status})`);
    this.name = new.target.name;
    this.status = status;
    this.detail = list;
    this.code = code;
  }
}

/**
 * 400 with DRF's per-field messages. Like DRF's `ValidationError`, it also takes a message or a list of
 * them: raised from a serializer's `validate()` they are `non_field_errors`, from `validate_<field>()`
 * that field's errors.
 */
export class ValidationError extends APIError {
  readonly fields: FieldErrors;
  /** The messages it was raised with, when it was raised with a message or a list rather than a field map. */
  readonly messages: string[] | undefined;
  constructor(detail: FieldErrors | string | string[]) {
    const messages = typeof detail === 'string' ? [detail] : Array.isArray(detail) ? detail : undefined;
    const fields: FieldErrors = messages ? { [NON_FIELD_ERRORS]: messages } : (detail as FieldErrors);
    super(400, [fields], 'BAD_USER_INPUT');
    this.fields = fields;
    this.messages = messages;
    this.message = Object.entries(fields)
      .map(([field, messages]) => `${field}: ${flattenDetail(messages).join(' ')}`)
      .join('; ');
  }
}

/** 404 `["Not found"]`: a lookup miss or a pk of the wrong type. */
export class NotFound extends APIError {
  constructor(detail = 'Not found') {
    super(404, detail, 'NOT_FOUND');
  }
}

/** 403: the permission check refused. */
export class PermissionDenied extends APIError {
  constructor(detail = 'You do not have permission to perform this action.') {
    super(403, detail, 'FORBIDDEN');
  }
}

/** 401: the operation needs an authenticated user. */
export class NotAuthenticated extends APIError {
  constructor(detail = 'Authentication credentials were not provided.') {
    super(401, detail, 'UNAUTHENTICATED');
  }
}

/** 405: no such action on this consumer. */
export class MethodNotAllowed extends APIError {
  constructor(method: string) {
    super(405, `Method "${method}" not allowed.`, 'METHOD_NOT_ALLOWED');
  }
}

/** 429: a rate or count limit was hit. */
export class Throttled extends APIError {
  constructor(detail = 'Request was throttled.') {
    super(429, detail, 'THROTTLED');
  }
}

/** What a client is told when the database stayed locked by another connection past the busy timeout. */
export const DATABASE_BUSY_MESSAGE = 'Database busy: try again.';

/**
 * 503: another connection held the database's write lock past the busy timeout (DATABASE_BUSY_TIMEOUT).
 * Nothing was written: the client may send the same request again.
 */
export class DatabaseBusy extends APIError {
  constructor() {
    super(503, DATABASE_BUSY_MESSAGE, 'DATABASE_BUSY');
    // knex prefixes a failed query's SQL and bindings to the error's message; a client must see neither.
    Object.defineProperty(this, 'message', { get: () => DATABASE_BUSY_MESSAGE, set: () => {}, enumerable: false });
  }
}

/** 400 for a frame that cannot be read as a request at all. */
export class BadRequest extends APIError {
  constructor(detail: unknown[] | string) {
    super(400, detail, 'BAD_REQUEST');
  }
}

/** A 400 for one missing key, shaped like DRF's required-field error. */
export function requiredKey(key: string): ValidationError {
  return new ValidationError({ [key]: ['This field is required.'] });
}
