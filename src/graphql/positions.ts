/**
 * The change feed in GraphQL (docs/positions.md, "GraphQL"): a subscription field's `after` argument,
 * the change log's refusals as errors (`BAD_USER_INPUT`/400 for a malformed position,
 * `POSITION_EXPIRED`/410 with the head in `extensions.position` for an expired one), and
 * `Query.changePosition`, the head taken once per operation before its root fields run.
 */
import {
  getNamedType,
  GraphQLError,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { ValidationError } from '../errors.js';
import { PositionError } from '../events/change-log.js';
import { ChangeLogOff } from '../runtime.js';
import type { ConnectionScope } from '../scope.js';

/** The root field that answers the head when the operation began. */
export const CHANGE_POSITION_FIELD = 'changePosition';

/** The extension code of an expired `after`. */
export const POSITION_EXPIRED = 'POSITION_EXPIRED';

/** The extension code of an `after` or a `changePosition` asked of an app whose database keeps no change log. */
export const POSITIONS_OFF = 'POSITIONS_OFF';

/**
 * The field extension that names the models a field reads (`extensions: { changeModels: ['Thing'] }`):
 * an operation that selects `changePosition` makes them logged before it takes the head, so a
 * subscribe `after` that head misses none of their changes. `bindResource` sets it on the fields it
 * serves; an app's own resolver declares it with `readsModels`.
 */
export const CHANGE_MODELS_EXTENSION = 'changeModels';

/** Where an operation's head is kept (its root value), so every root field of it reads the same one. */
const ANCHOR = Symbol.for('dcrf-gateway.changePosition');

/** The root value of an operation anchored at `position`. */
export function anchoredRoot(position: string): Record<symbol, string> {
  return { [ANCHOR]: position };
}

/** A subscription field's `after` argument as the resource layer's `since` (undefined when absent or null). */
export function afterOf(args: Record<string, unknown>): string | undefined {
  const after = args.after;
  return after === undefined || after === null ? undefined : String(after);
}

/**
 * The change log's refusal as a GraphQL error: malformed → BAD_USER_INPUT (400, `fields.after`),
 * expired → POSITION_EXPIRED (410, `extensions.position`: the head); anything else as it is.
 */
export function toGraphQLPositionError(error: unknown): unknown {
  if (error instanceof ChangeLogOff) return positionsOff();
  if (!(error instanceof PositionError)) return error;
  if (error.kind === 'malformed') return new ValidationError({ after: ['Not a valid position.'] });
  return new GraphQLError(error.message, { extensions: { code: POSITION_EXPIRED, status: 410, position: error.head ?? null } });
}

/**
 * The error of a position asked of an app without a change log (no `changeLogMigration`, or
 * `Runtime.create({ changeLog: false })`): a request this server cannot serve, not a failure of it.
 */
export function positionsOff(): GraphQLError {
  return new GraphQLError(ChangeLogOff.MESSAGE, { extensions: { code: POSITIONS_OFF, status: 400 } });
}

/**
 * A subscription field's `after` as the resource layer's `since`: undefined when absent or null; an
 * `after` on an app that keeps no change log is refused (POSITIONS_OFF) before anything is opened.
 */
export function sinceOfAfter(scope: ConnectionScope, args: Record<string, unknown>): string | undefined {
  const since = afterOf(args);
  if (since !== undefined && !scope.runtime.changeLog.enabled) throw positionsOff();
  return since;
}

/** The resolver of `Query.changePosition: String!`: the head the engine took before the operation's root fields ran. */
export function changePositionResolvers(): Record<string, Record<string, unknown>> {
  return {
    Query: {
      [CHANGE_POSITION_FIELD]: (root: unknown, _args: unknown, context: { scope: ConnectionScope }) => {
        const anchored = (root as Record<symbol, string> | null | undefined)?.[ANCHOR];
        if (anchored !== undefined) return anchored;
        return context.scope.runtime.changeLog.head().catch((error: unknown) => {
          throw toGraphQLPositionError(error);
        });
      },
    },
  };
}

/**
 * Whether an operation selects `changePosition` among its root fields (directly, in an inline
 * fragment or a named one): the engine then takes the head before running it.
 */
export function selectsChangePosition(document: DocumentNode, operation: OperationDefinitionNode): boolean {
  const fragments = new Map<string, SelectionSetNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition.selectionSet);
  }
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode): boolean =>
    set.selections.some((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value === CHANGE_POSITION_FIELD;
      if (selection.kind === Kind.INLINE_FRAGMENT) return visit(selection.selectionSet);
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || seen.has(name)) return false;
      seen.add(name);
      return visit(fragment);
    });
  return visit(operation.selectionSet);
}

/**
 * A resolver that reads `models` (their change names, as `Resource.modelName` says), with the
 * `changeModels` extension that tells an anchored operation to log them before it takes the head.
 *
 *   Query: { me: readsModels(['User'], (root, args, ctx) => ...) }
 */
export function readsModels<R>(models: readonly string[], resolve: R): { resolve: R; extensions: Record<string, readonly string[]> } {
  return { resolve, extensions: { [CHANGE_MODELS_EXTENSION]: models } };
}

/**
 * The models an operation reads, as its fields' `changeModels` extensions name them, at every depth
 * (through inline fragments and named ones): what an anchored operation logs before it takes the head.
 */
export function modelsReadBy(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const models = new Set<string>();
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode, type: GraphQLNamedType | null | undefined): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (!isObjectType(type) && !isInterfaceType(type)) continue;
        const field = type.getFields()[selection.name.value];
        if (!field) continue;
        const named = field.extensions?.[CHANGE_MODELS_EXTENSION] as readonly string[] | undefined;
        for (const model of named ?? []) models.add(model);
        if (selection.selectionSet) visit(selection.selectionSet, getNamedType(field.type));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet, selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || seen.has(fragment.name.value)) continue;
        seen.add(fragment.name.value);
        visit(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value));
      }
    }
  };
  visit(operation.selectionSet, schema.getRootType(operation.operation));
  return [...models];
}
