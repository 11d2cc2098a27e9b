/**
 * The one execution path of every GraphQL transport (HTTP, graphql-transport-ws, legacy graphql-ws):
 * parse + validate + limits once per document text (cached), then execute or subscribe.
 */
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  subscribe,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type OperationTypeNode,
  type Token,
  type ValidationRule,
} from 'graphql';
import type { ConnectionScope } from '../scope.js';
import { DocumentCache } from './cache.js';
import { PARSE_FAILED, requestError, VALIDATION_FAILED } from './errors.js';
import {
  checkLimits,
  DEFAULT_GRAPHQL_LIMITS,
  limitError,
  limitOf,
  markLimit,
  type GraphQLLimitName,
  type GraphQLLimits,
} from './limits.js';
import { EventDelivery, type DeliveryTarget } from './event-delivery.js';
import { StreamBudget } from './live-stream.js';
import { anchoredRoot, modelsReadBy, positionsOff, selectsChangePosition } from './positions.js';

/** What every resolver receives as its context. */
export interface GraphQLContext {
  scope: ConnectionScope;
  /** The live subscriptions of this connection (bounded). */
  streams: StreamBudget;
}

/** What a client sends for one operation. */
export interface OperationParams {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

export interface EngineOptions {
  limits?: Partial<GraphQLLimits>;
  /** Documents kept parsed and validated. Default 1000. */
  cacheSize?: number;
  /** Tokens of the cached documents, in all (a parsed document keeps about 500 bytes per token). Default 50,000. */
  cacheTokens?: number;
  /**
   * Execute and encode each event once for all subscribers of the same document, variables and user
   * (default true). Turn it off when the resolvers under a subscription read more of the context than
   * `scope.user` (the socket's headers, say), so each subscriber gets its own execution.
   */
  shareEventResults?: boolean;
}

export class GraphQLEngine {
  readonly limits: GraphQLLimits;
  readonly cache: DocumentCache<DocumentNode | readonly GraphQLError[]>;
  private readonly rules: readonly ValidationRule[];
  private readonly shareEventResults: boolean;
  /**
   * For each query operation of a cached document that selects `changePosition`, the models its fields
   * read (null: it selects no `changePosition`); decided once per operation.
   */
  private readonly anchoring = new WeakMap<OperationDefinitionNode, readonly string[] | null>();
  /** Operations to run once the change log's head is taken (they select `changePosition`), with the models they read. */
  private readonly anchored = new WeakMap<ExecutionArgs, readonly string[]>();
  /** Told of every operation a limit refuses (cached refusals included): the gateway counts them. */
  onLimitHit: ((limit: GraphQLLimitName) => void) | undefined;

  constructor(
    readonly schema: GraphQLSchema,
    options: EngineOptions = {},
  ) {
    this.shareEventResults = options.shareEventResults ?? true;
    this.limits = { ...DEFAULT_GRAPHQL_LIMITS, ...options.limits };
    this.cache = new DocumentCache(options.cacheSize ?? 1000, undefined, options.cacheTokens ?? 50_000);
    this.rules = this.limits.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  }

  /** The parsed, valid document for a text, or the errors that refuse it. */
  prepare(query: string): DocumentNode | readonly GraphQLError[] {
    // Not cached: a text that long would only push the documents clients reuse out of the cache.
    if (query.length > this.limits.maxQueryLength) {
      return [limitError('length', `Document is longer than ${this.limits.maxQueryLength} characters.`)];
    }
    const cached = this.cache.get(query);
    if (cached) return cached;
    const { prepared, tokens } = this.prepareUncached(query);
    this.cache.set(query, prepared, tokens);
    return prepared;
  }

  /**
   * Cheapest first (`prepare` checked the length): the token count (the parser stops past it), the
   * linear limit check, and only then `validate`, whose cost grows faster than the document with some
   * fragment patterns.
   */
  private prepareUncached(query: string): { prepared: DocumentNode | readonly GraphQLError[]; tokens: number } {
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: this.limits.maxTokens });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const refused = requestError(error, PARSE_FAILED);
      return { prepared: [TOO_MANY_TOKENS.test(error.message) ? markLimit(refused, 'tokens') : refused], tokens: 1 };
    }
    // Refusals point at no node, so they keep nothing of the document.
    const tooBig = checkLimits(this.schema, document, this.limits);
    if (tooBig.length) return { prepared: tooBig, tokens: 1 };
    const invalid = validate(this.schema, document, this.rules, { maxErrors: MAX_VALIDATION_ERRORS });
    if (invalid.length) return { prepared: invalid.map((error) => requestError(error, VALIDATION_FAILED)), tokens: 1 };
    return { prepared: document, tokens: tokenCount(document) };
  }

  /** Execution arguments for a client's operation, or the errors that refuse it before execution. */
  operation(
    params: OperationParams,
    contextValue: GraphQLContext,
  ): { args: ExecutionArgs; type: OperationTypeNode } | readonly GraphQLError[] {
    if (typeof params.query !== 'string') return [badRequest('A query string is required.')];
    if (params.variables != null && (typeof params.variables !== 'object' || Array.isArray(params.variables)))
      return [badRequest('Variables must be an object.')];
    if (params.operationName != null && typeof params.operationName !== 'string')
      return [badRequest('The operation name must be a string.')];
    const document = this.prepare(params.query);
    if (Array.isArray(document)) {
      const limit = limitOf((document as readonly GraphQLError[])[0]!);
      if (limit) this.onLimitHit?.(limit);
      return document;
    }
    const doc = document as DocumentNode;
    const operationName = (params.operationName as string | null | undefined) ?? undefined;
    const operation = getOperationAST(doc, operationName);
    if (!operation)
      return [
        badRequest(
          operationName
            ? `Unknown operation named "${operationName}".`
            : 'Must provide operation name if query contains multiple operations.',
        ),
      ];
    const args: ExecutionArgs = {
      schema: this.schema,
      document: doc,
      operationName,
      variableValues: (params.variables as Record<string, unknown> | null | undefined) ?? undefined,
      contextValue,
    };
    if (operation.operation === 'query') {
      let models = this.anchoring.get(operation);
      if (models === undefined) {
        models = selectsChangePosition(doc, operation) ? modelsReadBy(this.schema, doc, operation) : null;
        this.anchoring.set(operation, models);
      }
      if (models) this.anchored.set(args, models);
    }
    return { args, type: operation.operation };
  }

  /**
   * Executes a query or mutation, or opens a subscription's event stream. A query that selects
   * `changePosition` first names the models its fields read to the change log (logged from then on,
   * as by a first subscription, so a subscribe `after` the head misses none of their changes), then
   * takes the head, so it is the head when the operation began: every root field's data reflects
   * every change at or before it (docs/positions.md).
   */
  run(args: ExecutionArgs, type: OperationTypeNode): Promise<ExecutionResult | AsyncGenerator<ExecutionResult>> | ExecutionResult {
    if (type === 'subscription') return subscribe(args) as Promise<ExecutionResult | AsyncGenerator<ExecutionResult>>;
    const models = this.anchored.get(args);
    if (models) return this.runAnchored(args, models);
    return execute(args) as Promise<ExecutionResult> | ExecutionResult;
  }

  private async runAnchored(args: ExecutionArgs, models: readonly string[]): Promise<ExecutionResult> {
    const context = args.contextValue as GraphQLContext;
    const changeLog = context.scope.runtime.changeLog;
    if (!changeLog.enabled) return { errors: [positionsOff()] };
    let head: string;
    try {
      head = await changeLog.head(models.length ? models : undefined);
    } catch (error) {
      return { errors: [new GraphQLError('The change log could not be read.', { originalError: error as Error })] };
    }
    return execute({ ...args, rootValue: anchoredRoot(head) });
  }

  /** A subscription's event stream (before any execution), or the errors that refused it. */
  eventStream(args: ExecutionArgs): Promise<AsyncIterable<unknown> | ExecutionResult> {
    return Promise.resolve(createSourceEventStream(args)) as Promise<AsyncIterable<unknown> | ExecutionResult>;
  }

  /** Delivers an event stream's results to one socket (see EventDelivery). */
  delivery(source: AsyncIterable<unknown>, args: ExecutionArgs, target: DeliveryTarget): EventDelivery {
    return new EventDelivery(source, args, target, { maxPending: this.limits.maxQueuedEvents, share: this.shareEventResults });
  }

  /** A fresh context for a connection (or one HTTP request). */
  context(scope: ConnectionScope): GraphQLContext {
    return { scope, streams: new StreamBudget(this.limits.maxSubscriptionsPerSocket, this.limits.maxQueuedEvents) };
  }
}

/** Whether an operation's result is an event stream rather than one result. */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}

/** Validation errors reported for one document (graphql-js's default is 100): a few are enough to act on. */
const MAX_VALIDATION_ERRORS = 10;

/** The tokens of a parsed document (its nodes' locations link them all, so they live as long as it does). */
function tokenCount(document: DocumentNode): number {
  let count = 0;
  for (let token: Token | null | undefined = document.loc?.startToken; token; token = token.next) count++;
  return Math.max(count, 1);
}

/** graphql-js's message when parsing stops at `maxTokens` ("more than", spelled "more that" in 16.x). */
const TOO_MANY_TOKENS = /^Syntax Error: Document contains more th\w+ \d+ tokens/;

function badRequest(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', status: 400 } });
}
