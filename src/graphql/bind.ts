/**
 * Binding resources to GraphQL fields. You declare the types in SDL; `bindResource` produces the
 * resolvers that call the same resource operations DCRF consumers call, with the same permissions,
 * validation (BAD_USER_INPUT with DRF's field messages) and change events.
 *
 *   const schema = buildGraphQLSchema({
 *     typeDefs: sdl,
 *     resolvers: [bindResource(bookResource, { list: 'books', get: 'book', create: 'createBook', changed: 'bookChanged' })],
 *   });
 *   console.log(printSDL(schema));
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import { printSchema, type GraphQLFieldMap, type GraphQLSchema } from 'graphql';
import { NotAuthenticated, NotFound, PermissionDenied } from '../errors.js';
import { assertLiveModel } from '../models/live-model-check.js';
import { resolveLimit, resolveOffset } from '../resources/pagination.js';
import {
  resourceCall,
  type AnyQuery,
  type OperationHooks,
  type Resource,
  type ResourceCall,
  type ResourceEvent,
  type Unsubscribe,
} from '../resources/resource.js';
import type { Row } from '../serializers/serializer.js';
import type { GraphQLContext } from './engine.js';
import type { PageSize } from './document-measure.js';
import { type LiveStream, openLiveStreamOf } from './live-stream.js';
import { StreamEventSink } from './resync.js';
import { CHANGE_MODELS_EXTENSION, sinceOfAfter, toGraphQLPositionError } from './positions.js';

/** Resolvers by type name, then field name (the shape makeExecutableSchema takes). */
export type ResolverMap = Record<string, Record<string, unknown>>;

/** Which fields of the schema a resource serves. Every name is optional; unnamed operations are not bound. */
export interface ResourceBinding {
  /**
   * `Query.<list>(limit: Int, offset: Int): [T!]!`: the rows the caller may see, at most `maxListItems`
   * (the arguments are optional; declare them in the SDL to let clients page).
   */
  list?: string;
  /** Most rows `list` returns, and its cost factor; default the resource's `pagination.maxLimit`, else 100. */
  maxListItems?: number;
  /** `Query.<page>(limit: Int, offset: Int): {count, limit, offset, results}`. */
  page?: string;
  /** `Query.<get>(id: ID!): T`: null (no error) when the row is not there. */
  get?: string;
  /** `Mutation.<create>(input: ...!): T!`. */
  create?: string;
  /** `Mutation.<update>(id: ID!, input: ...!): T!` (every field required, like PUT). */
  update?: string;
  /** `Mutation.<patch>(id: ID!, input: ...!): T!` (partial). */
  patch?: string;
  /** `Mutation.<delete>(id: ID!): ID!`. */
  delete?: string;
  /**
   * `Subscription.<changed>(id: ID!, after: String): {action, position, data}`: one row's updates and its
   * delete (`after`: replay the changes after that position first).
   */
  changed?: string;
  /** `Subscription.<activity>(after: String): {action, position, data}`: every create, update and delete. */
  activity?: string;
  /** Turns the serialized row into the GraphQL object. Default: the row, with `pk` renamed `id`. */
  toGraphQL?: (row: Row) => Row;
  /** Refuse anonymous callers with UNAUTHENTICATED before asking the resource. */
  requireUser?: boolean;
}

/** A change event as the demo's `XEvent` types show it. */
export interface GraphQLChangeEvent {
  action: 'CREATE' | 'UPDATE' | 'DELETE';
  /** The change's position in the change log (`position: String!`): what a client resumes `after`. */
  position?: string;
  data: Row;
}

/** The default row mapping: a serializer that says `pk` becomes a GraphQL object that says `id`. */
export function pkAsId(row: Row): Row {
  if ('id' in row || !('pk' in row)) return row;
  const { pk, ...rest } = row;
  return { id: pk, ...rest };
}

/**
 * Runs a resolver body for a context: a refusal of an anonymous caller is UNAUTHENTICATED (as DRF
 * answers 401 rather than 403 when no credentials were given).
 */
export async function asCaller<T>(context: GraphQLContext, work: () => Promise<T>, requireUser = false): Promise<T> {
  if (requireUser && !context.scope.user) throw new NotAuthenticated();
  try {
    return await work();
  } catch (error) {
    if (error instanceof PermissionDenied && !context.scope.user) throw new NotAuthenticated();
    throw error;
  }
}

/**
 * A subscription field's resolvers over resource events: `subscribe` opens the topics (permission
 * checked now; the resource checks it again for every event) and `resolve` passes each event on. An
 * `after` the change log refuses is one error: BAD_USER_INPUT (malformed) or POSITION_EXPIRED (410).
 * `open` gets `push` for each value and `fail` to end the subscription with an error (`eventSink`
 * does both: a truncate of the model ends it with RESYNC).
 */
export function liveField<Args, Out>(
  open: (
    context: GraphQLContext,
    args: Args,
    push: (value: Out) => void,
    fail: (error: unknown) => void,
  ) => Promise<Unsubscribe | Unsubscribe[]>,
  requireUser = false,
): { subscribe: (root: unknown, args: Args, context: GraphQLContext) => Promise<AsyncIterable<Out>>; resolve: (value: Out) => Out } {
  return liveStreamField<Args, Out>(
    (context, args, stream) =>
      open(
        context,
        args,
        (value) => stream.push(value),
        (error) => stream.fail(error),
      ),
    requireUser,
  );
}

/** `liveField` whose `open` gets the subscription's LiveStream (to hand it a `StreamEventSink`). */
export function liveStreamField<Args, Out>(
  open: (context: GraphQLContext, args: Args, stream: LiveStream<Out>) => Promise<Unsubscribe | Unsubscribe[]>,
  requireUser = false,
): { subscribe: (root: unknown, args: Args, context: GraphQLContext) => Promise<AsyncIterable<Out>>; resolve: (value: Out) => Out } {
  return {
    subscribe: (_root, args, context) =>
      asCaller(
        context,
        () =>
          openLiveStreamOf<Out>(context.streams, (stream) => open(context, args, stream)).catch((error: unknown) => {
            throw toGraphQLPositionError(error);
          }),
        requireUser,
      ),
    resolve: (value) => value,
  };
}

/**
 * The resource call of a subscription field: the caller's scope and the field's arguments, subscribing
 * since `after` when the field was given one.
 */
export function subscriptionCall(context: GraphQLContext, args: Record<string, unknown>): ResourceCall {
  const call = resourceCall(context.scope, args);
  const since = sinceOfAfter(context.scope, args);
  return since === undefined ? call : { ...call, since };
}

const GRAPHQL_ACTIONS = { create: 'CREATE', update: 'UPDATE', delete: 'DELETE' } as const;

/**
 * Turns resource events into `{action, position, data}`: one object per message and action, serialized
 * once, so every subscriber of the message gets the same event (and the same shared result, see
 * EventDelivery; the position is the message's own, so sharing keeps it right).
 */
export function eventMapper(
  resource: Resource,
  toGraphQL: (row: Row) => Row = pkAsId,
): (event: ResourceEvent) => GraphQLChangeEvent | undefined {
  // This mapper's entries in the runtime's memo of a message, one per action.
  const memoKeys = { CREATE: {}, UPDATE: {}, DELETE: {} };
  const toEvent = (event: ResourceEvent, action: GraphQLChangeEvent['action']): GraphQLChangeEvent => ({
    action,
    position: event.message.position,
    data: toGraphQL(resource.serializer.toRepresentation(event.row as Row)),
  });
  return (event) => {
    // A row that left the subscriber's queryset: the subscriber may no longer see it.
    if (event.row === null) return undefined;
    const action = GRAPHQL_ACTIONS[event.action as keyof typeof GRAPHQL_ACTIONS];
    // A row re-read for this subscriber (its own queryset), or its state before, is its own event.
    if (event.rowFrom !== 'data') return toEvent(event, action);
    return event.runtime.hub.memo(event.message, memoKeys[action], toEvent, event, action);
  };
}

/** The resolvers that serve `binding`'s fields with `resource`. */
export function bindResource(resource: Resource, binding: ResourceBinding): ResolverMap {
  const out = binding.toGraphQL ?? pkAsId;
  const requireUser = binding.requireUser ?? false;
  const query: Record<string, unknown> = {};
  const mutation: Record<string, unknown> = {};
  const subscription: Record<string, unknown> = {};
  const toEvent = eventMapper(resource, out);
  type Ctx = GraphQLContext;
  const live = [binding.changed, binding.activity].filter(Boolean);
  // A subscription over a plain Model would never send an event: the schema is refused where it is built.
  if (live.length) assertLiveModel(resource.model, `bindResource(${resource.name}) (${live.join(', ')})`);
  // The model the read fields read: an operation that selects `changePosition` logs it before taking the head.
  const reads = { [CHANGE_MODELS_EXTENSION]: [resource.modelName] };

  if (binding.list) {
    const max = binding.maxListItems ?? listMaximum(resource);
    query[binding.list] = {
      resolve: (_: unknown, args: Args, ctx: Ctx) =>
        asCaller(ctx, async () => (await resource.list(resourceCall(ctx.scope, args, { hooks: pageOf(args, max) }))).map(out), requireUser),
      extensions: { pageSize: { max } satisfies PageSize, ...reads },
    };
  }
  if (binding.page) {
    const { defaultLimit, maxLimit } = resource.pagination;
    query[binding.page] = {
      resolve: (_: unknown, args: Args, ctx: Ctx) =>
        asCaller(
          ctx,
          async () => {
            const page = await resource.page(resourceCall(ctx.scope, args), args.limit ?? undefined, args.offset ?? undefined);
            return { ...page, results: page.results.map(out) };
          },
          requireUser,
        ),
      // The page object's list (`results`) holds at most this many rows.
      extensions: { pageSize: { max: maxLimit ?? Number.MAX_SAFE_INTEGER, default: defaultLimit } satisfies PageSize, ...reads },
    };
  }
  if (binding.get) {
    query[binding.get] = {
      resolve: (_: unknown, args: Args, ctx: Ctx) =>
        asCaller(
          ctx,
          async () => {
            try {
              return out(await resource.retrieve(resourceCall(ctx.scope, args), args.id));
            } catch (error) {
              if (error instanceof NotFound) return null;
              throw error;
            }
          },
          requireUser,
        ),
      extensions: reads,
    };
  }
  if (binding.create) {
    mutation[binding.create] = (_: unknown, args: Args, ctx: Ctx) =>
      asCaller(ctx, async () => out(await resource.create(resourceCall(ctx.scope, args), { ...(args.input as object) })), requireUser);
  }
  if (binding.update) {
    mutation[binding.update] = (_: unknown, args: Args, ctx: Ctx) =>
      asCaller(
        ctx,
        async () => out(await resource.update(resourceCall(ctx.scope, args), args.id, { ...(args.input as object) })),
        requireUser,
      );
  }
  if (binding.patch) {
    mutation[binding.patch] = (_: unknown, args: Args, ctx: Ctx) =>
      asCaller(
        ctx,
        async () => out(await resource.patch(resourceCall(ctx.scope, args), args.id, { ...(args.input as object) })),
        requireUser,
      );
  }
  if (binding.delete) {
    const idColumn = resource.model.idColumn as string;
    mutation[binding.delete] = (_: unknown, args: Args, ctx: Ctx) =>
      asCaller(ctx, async () => (await resource.destroy(resourceCall(ctx.scope, args), args.id))[idColumn], requireUser);
  }
  if (binding.changed) {
    subscription[binding.changed] = liveStreamField<Args, GraphQLChangeEvent>(
      (ctx, args, stream) => resource.subscribeInstance(subscriptionCall(ctx, args), args.id, new StreamEventSink(toEvent, stream)),
      requireUser,
    );
  }
  if (binding.activity) {
    subscription[binding.activity] = liveStreamField<Args, GraphQLChangeEvent>(
      (ctx, args, stream) => resource.subscribeAll(subscriptionCall(ctx, args), new StreamEventSink(toEvent, stream)),
      requireUser,
    );
  }
  for (const fields of [query, mutation, subscription]) for (const field of Object.values(fields)) markServed(field, resource);
  const resolvers: ResolverMap = {};
  if (Object.keys(query).length) resolvers.Query = query;
  if (Object.keys(mutation).length) resolvers.Mutation = mutation;
  if (Object.keys(subscription).length) resolvers.Subscription = subscription;
  return resolvers;
}

/** The resource behind each resolver `bindResource` made (the schema keeps the functions as they are). */
const servedBy = new WeakMap<Function, Resource>();

function markServed(field: unknown, resource: Resource): void {
  const config = field as { resolve?: unknown; subscribe?: unknown };
  for (const fn of typeof field === 'function' ? [field] : [config.resolve, config.subscribe]) {
    if (typeof fn === 'function') servedBy.set(fn, resource);
  }
}

/**
 * The resources a schema's root fields serve through `bindResource`, each with the first field that
 * serves it (`Query.todos`): what the gateway's startup checks look at (their tables must exist).
 */
export function servedResources(schema: GraphQLSchema): Array<[field: string, resource: Resource]> {
  const found = new Map<Resource, string>();
  for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    const fields: GraphQLFieldMap<unknown, unknown> = type?.getFields() ?? {};
    for (const [name, field] of Object.entries(fields)) {
      const resource = (field.resolve && servedBy.get(field.resolve)) ?? (field.subscribe && servedBy.get(field.subscribe));
      if (resource && !found.has(resource)) found.set(resource, `${type!.name}.${name}`);
    }
  }
  return [...found].map(([resource, field]) => [field, resource]);
}

/** Most rows a list field of `resource` returns when its binding does not say. */
export function listMaximum(resource: Resource): number {
  return resource.pagination.maxLimit ?? DEFAULT_LIST_MAXIMUM;
}

const DEFAULT_LIST_MAXIMUM = 100;

/** Hooks that narrow a list to the `limit` and `offset` arguments, `limit` capped by (and defaulting to) `max`. */
export function pageOf(args: Args, max: number): OperationHooks {
  const limit = resolveLimit(args.limit, { defaultLimit: max, maxLimit: max });
  const offset = resolveOffset(args.offset);
  return { filterQueryset: (query) => query.limit(limit).offset(offset) as AnyQuery };
}

type Args = Record<string, unknown>;

/** Merges resolver maps type by type (a later map's field wins). */
export function mergeResolverMaps(...maps: ResolverMap[]): ResolverMap {
  const merged: ResolverMap = {};
  for (const map of maps) {
    for (const [type, fields] of Object.entries(map)) merged[type] = { ...merged[type], ...fields };
  }
  return merged;
}

export interface SchemaDeclaration {
  /** Your SDL (one string or several). */
  typeDefs: string | string[];
  /** Resolver maps: `bindResource(...)` results and your own. */
  resolvers: ResolverMap | ResolverMap[];
}

/** Builds an executable schema from your SDL and resolver maps. */
export function buildGraphQLSchema(declaration: SchemaDeclaration): GraphQLSchema {
  const resolvers = Array.isArray(declaration.resolvers) ? mergeResolverMaps(...declaration.resolvers) : declaration.resolvers;
  return makeExecutableSchema({
    typeDefs: declaration.typeDefs,
    resolvers: resolvers as any,
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
}

/** The SDL of a schema (what you declared, as the server serves it). */
export function printSDL(schema: GraphQLSchema): string {
  return printSchema(schema);
}
