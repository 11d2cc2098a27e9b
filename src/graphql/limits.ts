/**
 * Limits checked before execution, so an expensive document is refused before any resolver runs:
 * tokens (while parsing), depth, aliases, a simple cost, introspection on or off.
 */
import {
  GraphQLError,
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

export interface GraphQLLimits {
  /** Most tokens a document may have (graphql-js stops parsing past it). */
  maxTokens: number;
  /** Deepest field nesting an operation may reach (the root fields are depth 1). */
  maxDepth: number;
  /** Most aliases in one document. */
  maxAliases: number;
  /** Most cost units: every field costs 1, a list field multiplies its selection by `listFactor`. */
  maxCost: number;
  /** What a list field multiplies the cost of its selection by. */
  listFactor: number;
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
  introspection: true,
  maxQueryLength: 64 * 1024,
  maxSubscriptionsPerSocket: 100,
  maxQueuedEvents: 1000,
  maxPendingMessages: 1000,
};

interface Measure {
  depth: number;
  cost: number;
}

/** The limit errors of a valid document (empty when it is within every limit). */
export function checkLimits(schema: GraphQLSchema, document: DocumentNode, limits: GraphQLLimits): GraphQLError[] {
  const errors: GraphQLError[] = [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  let aliases = 0;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  countAliases(document);
  if (aliases > limits.maxAliases) errors.push(limitError(`Too many aliases: ${aliases}, at most ${limits.maxAliases}.`));

  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const root = schema.getRootType(definition.operation);
    if (!root) continue;
    const measure = measureSelection(definition.selectionSet, root);
    const name = definition.name ? ` "${definition.name.value}"` : '';
    if (measure.depth > limits.maxDepth) errors.push(limitError(`Operation${name} is ${measure.depth} levels deep, at most ${limits.maxDepth}.`));
    if (measure.cost > limits.maxCost) errors.push(limitError(`Operation${name} costs ${measure.cost}, at most ${limits.maxCost}.`));
  }
  return errors;

  function countAliases(node: unknown): void {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) countAliases(item);
      return;
    }
    const record = node as { kind?: string; alias?: unknown; selectionSet?: unknown; definitions?: unknown; selections?: unknown };
    if (record.kind === Kind.FIELD && record.alias) aliases++;
    countAliases(record.definitions);
    countAliases(record.selectionSet);
    countAliases(record.selections);
  }

  function measureSelection(set: SelectionSetNode, parent: GraphQLCompositeType, seen: ReadonlySet<string> = new Set()): Measure {
    let depth = 0;
    let cost = 0;
    for (const selection of set.selections) {
      let measure: Measure;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        // Introspection has its own switch; its deep TypeRef chains must not count against depth.
        if (name.startsWith('__')) {
          measure = { depth: 1, cost: 1 };
        } else {
          const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
          const type = field ? getNamedType(field.type) : undefined;
          const inner = selection.selectionSet && type && isCompositeType(type) ? measureSelection(selection.selectionSet, type, seen) : { depth: 0, cost: 0 };
          const factor = field && isListType(getNullableType(field.type)) ? limits.listFactor : 1;
          measure = { depth: inner.depth + 1, cost: 1 + factor * inner.cost };
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        measure = type && isCompositeType(type) ? measureSelection(selection.selectionSet, type, seen) : { depth: 0, cost: 0 };
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || seen.has(fragment.name.value)) continue;
        const type = schema.getType(fragment.typeCondition.name.value);
        measure = type && isCompositeType(type) ? measureSelection(fragment.selectionSet, type, new Set([...seen, fragment.name.value])) : { depth: 0, cost: 0 };
      }
      depth = Math.max(depth, measure.depth);
      cost += measure.cost;
    }
    return { depth, cost };
  }
}

function limitError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX', status: 400 } });
}
