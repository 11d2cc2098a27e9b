/**
 * The change feed in GraphQL (docs/positions.md, "GraphQL"): a subscription field's `after` argument,
 * the change log's refusals as errors (`BAD_USER_INPUT`/400 for a malformed position,
 * `POSITION_EXPIRED`/410 with the head in `extensions.position` for an expired one), and
 * `Query.changePosition`, the head taken once per operation before its root fields run.
 */
import { GraphQLError, Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { ValidationError } from '../errors.js';
import { PositionError } from '../events/change-log.js';
import type { ConnectionScope } from '../scope.js';

/** The root field that answers the head when the operation began. */
export const CHANGE_POSITION_FIELD = 'changePosition';

/** The extension code of an expired `after`. */
export const POSITION_EXPIRED = 'POSITION_EXPIRED';

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
  if (!(error instanceof PositionError)) return error;
  if (error.kind === 'malformed') return new ValidationError({ after: ['Not a valid position.'] });
  return new GraphQLError(error.message, { extensions: { code: POSITION_EXPIRED, status: 410, position: error.head ?? null } });
}

/** The resolver of `Query.changePosition: String!`: the head the engine took before the operation's root fields ran. */
export function changePositionResolvers(): Record<string, Record<string, unknown>> {
  return {
    Query: {
      [CHANGE_POSITION_FIELD]: (root: unknown, _args: unknown, context: { scope: ConnectionScope }) => {
        const anchored = (root as Record<symbol, string> | null | undefined)?.[ANCHOR];
        return anchored ?? context.scope.runtime.changeLog.head();
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
