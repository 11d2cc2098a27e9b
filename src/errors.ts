/**
 * Typed errors of the resource layer. Every protocol maps them to its own wire shape at the edge:
 * the DCRF envelope (`errors` + `response_status`) or GraphQL `extensions` (`code`, `status`, `fields`).
 */

/** A field map as DRF renders validation errors: `{"name": ["This field is required."]}`. */
export type FieldErrors = Record<string, string[]>;

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

/** 400 with DRF's per-field messages. */
export class ValidationError extends APIError {
  readonly fields: FieldErrors;
  constructor(fields: FieldErrors) {
    super(400, [fields], 'BAD_USER_INPUT');
    this.fields = fields;
    this.message = Object.entries(fields)
      .map(([field, messages]) => `${field}: ${messages.join(' ')}`)
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
