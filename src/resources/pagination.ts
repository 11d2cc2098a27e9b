/**
 * Limit/offset pagination with DRF's forgiving rules: a bad or zero limit falls back to the default,
 * a limit over the maximum is capped, a bad or negative offset is 0.
 */

export interface PaginationSettings {
  defaultLimit: number;
  maxLimit?: number;
}

/** A page as DCRF's paginated list sends it. */
export interface Page<T> {
  count: number;
  results: T[];
  limit: number;
  offset: number;
}

const WHOLE_NUMBER = /^\s*[+-]?\d+\s*$/;

/**
 * Reads a whole number the way Python's int() would from a JSON value; undefined when it cannot. Very
 * large values stay numbers (Python's int has no ceiling): a huge offset is simply past the end.
 */
function wholeNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string' && WHOLE_NUMBER.test(value)) {
    const parsed = parseInt(value, 10);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/** The limit to use for a requested one (never more than SQL can take, even without a maximum). */
export function resolveLimit(requested: unknown, settings: PaginationSettings): number {
  const limit = wholeNumber(requested);
  if (limit === undefined || limit <= 0) return settings.defaultLimit;
  return Math.min(limit, settings.maxLimit ?? Number.MAX_SAFE_INTEGER);
}

/** The offset to use for a requested one. */
export function resolveOffset(requested: unknown): number {
  const offset = wholeNumber(requested);
  return offset === undefined || offset < 0 ? 0 : offset;
}
