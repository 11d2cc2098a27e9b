/**
 * Limits checked before execution, so an expensive document is refused before any resolver runs:
 * length and tokens (before and while parsing), then selections visited, aliases, depth, cost and
 * introspection (before validation), each in time linear in the document.
 */
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import { measureDocument, type MeasuredLimit } from './document-measure.js';
import { VALIDATION_FAILED, withoutStack } from './errors.js';

const TOO_COMPLEX = 'QUERY_TOO_COMPLEX';

export interface GraphQLLimits {
  /** Most tokens a document may have (graphql-js stops parsing past it). */
  maxTokens: number;
  /** Deepest field nesting an operation may reach (the root fields are depth 1). */
  maxDepth: number;
  /** Most aliases in one document. */
  maxAliases: number;
  /**
   * Most cost units: every field costs 1, a list field multiplies its selection by the most items it
   * can return (its `extensions.pageSize`: the `limit` argument capped by the maximum), else by `listFactor`.
   */
  maxCost: number;
  /** What a list field that declares no `pageSize` multiplies the cost of its selection by. */
  listFactor: number;
  /** Most selections the limit check may visit (fragments count once); beyond, the document is refused. */
  maxNodes: number;
  /** Whether `__schema` / `__type` may be queried. */
  introspection: boolean;
  /** Longest document text in characters. */
  maxQueryLength: number;
  /** Active subscriptions one socket may hold. */
  maxSubscriptionsPerSocket: number;
  /** Events one subscription may have waiting for a slow client before it is ended with SLOW_CONSUMER. */
  maxQueuedEvents: number;
  /** Messages one socket may have waiting to be handled (behind subscriptions being prepared); beyond: close 1008. */
  maxPendingMessages: number;
}

export const DEFAULT_GRAPHQL_LIMITS: GraphQLLimits = {
  maxTokens: 2000,
  maxDepth: 10,
  maxAliases: 30,
  maxCost: 5000,
  listFactor: 10,
  maxNodes: 10_000,
  introspection: true,
  maxQueryLength: 64 * 1024,
  maxSubscriptionsPerSocket: 100,
  maxQueuedEvents: 1000,
  maxPendingMessages: 1000,
};

/** Which GraphQL limit refused a document (the `limit` label of `limit_hits_total`, prefixed `graphql_`). */
export type GraphQLLimitName = 'length' | 'tokens' | MeasuredLimit;

const refusedBy = new WeakMap<GraphQLError, GraphQLLimitName>();

/** The limit an error of `checkLimits` (or the engine's length and token checks) stands for. */
export function limitOf(error: GraphQLError): GraphQLLimitName | undefined {
  return refusedBy.get(error);
}

/**
 * The limit errors of a parsed document (empty when it is within every limit): at most one, for the
 * first limit passed. Linear in the document (see document-measure.ts), so it runs before `validate`.
 */
export function checkLimits(schema: GraphQLSchema, document: DocumentNode, limits: GraphQLLimits): GraphQLError[] {
  const excess = measureDocument(schema, document, limits);
  if (!excess) return [];
  // Switched-off introspection keeps the code graphql-js's own rule gives it.
  const code = excess.limit === 'introspection' ? VALIDATION_FAILED : TOO_COMPLEX;
  return [limitError(excess.limit, excess.message, code)];
}

/** A pre-execution refusal by `limit`, remembered so the engine can count it. */
export function limitError(limit: GraphQLLimitName, message: string, code = TOO_COMPLEX): GraphQLError {
  return markLimit(withoutStack(new GraphQLError(message, { extensions: { code, status: 400 } })), limit);
}

/** Remembers that `error` is a refusal by `limit` (for errors made elsewhere, such as the parser's). */
export function markLimit(error: GraphQLError, limit: GraphQLLimitName): GraphQLError {
  refusedBy.set(error, limit);
  return error;
}
