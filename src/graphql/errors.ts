/**
 * GraphQL errors on the wire: every error carries `extensions.code` and `extensions.status`. The
 * resource layer's typed errors keep their message (and `fields` for validation); anything else is an
 * internal failure whose message may hold SQL or a stack, so it is logged and replaced.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { APIError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';

export const INTERNAL_MESSAGE = 'Internal server error';

/** Codes of errors raised before execution (syntax, validation, limits): the request itself is wrong. */
export const PARSE_FAILED = 'GRAPHQL_PARSE_FAILED';
export const VALIDATION_FAILED = 'GRAPHQL_VALIDATION_FAILED';

/**
 * A pre-execution error (syntax, validation, a limit) with its code attached. Refusals are cached, so
 * this one keeps as little as it can: its locations come from the source text and positions, not from
 * nodes (a node keeps the whole parsed document, every token, alive), and it has no stack.
 */
export function requestError(error: GraphQLError, code: string): GraphQLError {
  return withoutStack(
    new GraphQLError(error.message, {
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { ...error.extensions, code: error.extensions.code ?? code, status: error.extensions.status ?? 400 },
    }),
  );
}

/**
 * Drops an error's captured stack: a client's bad request needs none, and until it is formatted a
 * captured stack keeps the frames' closures alive (about 50 KiB per validation error, measured).
 */
export function withoutStack<E extends Error>(error: E): E {
  error.stack = `${error.name}: ${error.message}`;
  return error;
}

/** The wire shape of any error raised while serving an operation. */
export function formatError(error: unknown): GraphQLFormattedError {
  if (!(error instanceof GraphQLError)) return internal(error);
  const original = error.originalError;
  const base: GraphQLFormattedError = {
    message: error.message,
    ...(error.locations ? { locations: error.locations } : {}),
    ...(error.path ? { path: error.path } : {}),
  };
  if (original instanceof APIError) {
    const extensions: Record<string, unknown> = { code: original.code, status: original.status };
    if (original instanceof ValidationError) extensions.fields = original.fields;
    return { ...base, message: original.message, extensions };
  }
  if (original instanceof GraphQLError) return { ...formatError(original), ...(error.path ? { path: error.path } : {}) };
  if (original)
    return {
      ...internal(original),
      ...(error.locations ? { locations: error.locations } : {}),
      ...(error.path ? { path: error.path } : {}),
    };
  // Errors graphql-js raised itself during execution: variable coercion, a missing operation name.
  const extensions = { ...error.extensions };
  extensions.code ??= 'BAD_USER_INPUT';
  extensions.status ??= 400;
  return { ...base, extensions };
}

function internal(error: unknown): GraphQLFormattedError {
  logger.error('graphql operation failed', { error: String((error as Error)?.stack ?? error) });
  return { message: INTERNAL_MESSAGE, extensions: { code: 'INTERNAL_SERVER_ERROR', status: 500 } };
}

/** A result's errors, formatted; the result itself untouched otherwise. */
export function formatResult<T extends { errors?: readonly unknown[] }>(
  result: T,
): Omit<T, 'errors'> & { errors?: GraphQLFormattedError[] } {
  if (!result.errors) return result as Omit<T, 'errors'>;
  return { ...result, errors: result.errors.map(formatError) };
}

/** Cuts a close reason so its UTF-8 form stays under 124 bytes (the protocol's limit). */
export function limitReason(reason: string): string {
  if (Buffer.byteLength(reason) < 124) return reason;
  let cut = reason.slice(0, 120);
  while (Buffer.byteLength(cut) > 120) cut = cut.slice(0, -1);
  return cut;
}

/** Sent when a subscription's events pile up faster than its client reads them. */
export class SubscriptionOverflow extends APIError {
  constructor() {
    super(503, 'Subscription dropped: the client did not keep up with its events.', 'SLOW_CONSUMER');
  }
}
