/**
 * Measures a parsed document against the execution limits in time linear in its size: each fragment
 * is measured once (per page bound it inherits) and reused at every spread, the walk stops at the
 * first limit passed, and it never visits more than `maxNodes` selections. Runs before `validate`, so
 * it tolerates what validation refuses later (unknown fields and types, fragment cycles).
 */
import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

/** What a field declares about the items it can return, as `extensions.pageSize` of the field. */
export interface PageSize {
  /** The most items the field returns; a larger `limit` argument is capped to it. */
  max: number;
  /** Items returned when no usable `limit` is given; default `max`. */
  default?: number;
}

/** The limits a measure enforces (a subset of GraphQLLimits). */
export interface MeasureLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  /** Assumed size of a list field that declares no `pageSize`. */
  listFactor: number;
  introspection: boolean;
  maxNodes: number;
}

/** Which measured limit refused a document. */
export type MeasuredLimit = 'nodes' | 'aliases' | 'depth' | 'cost' | 'introspection';

/** The first limit a document passes, with the message for the client. */
export interface Excess {
  limit: MeasuredLimit;
  message: string;
}

interface Measure {
  depth: number;
  cost: number;
}

/** Introspection lists (types > fields > args) nest three deep in the standard introspection query. */
const MAX_INTROSPECTION_LIST_NESTING = 3;
const INTROSPECTION_ENTRY = new Set(['__schema', '__type']);
const EMPTY: Measure = { depth: 0, cost: 0 };

/** Lists nested inside an introspection field so far; undefined outside introspection. */
type Lists = number | undefined;

/** The page size a page object's field declared, for the list fields inside it. */
type Bound = number | undefined;

/** Thrown inside the walk to stop it at the first limit passed. */
class Stop {
  constructor(readonly excess: Excess) {}
}

/** The first limit `document` passes, or undefined when it is within every one. */
export function measureDocument(schema: GraphQLSchema, document: DocumentNode, limits: MeasureLimits): Excess | undefined {
  try {
    new DocumentWalk(schema, document, limits).run();
    return undefined;
  } catch (error) {
    if (error instanceof Stop) return error.excess;
    throw error;
  }
}

class DocumentWalk {
  private readonly fragments = new Map<string, FragmentDefinitionNode>();
  /** Measures of fragments by name and inherited page bound; `null` while being measured (a cycle). */
  private readonly memo = new Map<string, Measure | null>();
  private visited = 0;
  private operation = '';

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly document: DocumentNode,
    private readonly limits: MeasureLimits,
  ) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(definition.name.value, definition);
    }
  }

  run(): void {
    this.countAliases();
    for (const definition of this.document.definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
      const root = this.schema.getRootType(definition.operation);
      if (!root) continue;
      this.operation = definition.name ? ` "${definition.name.value}"` : '';
      this.selection(definition.selectionSet, root, 0, undefined, undefined);
    }
  }

  /** Aliases are counted where they are written (each definition once), not per spread. */
  private countAliases(): void {
    let aliases = 0;
    const pending: SelectionSetNode[] = [];
    for (const definition of this.document.definitions) {
      if ('selectionSet' in definition && definition.selectionSet) pending.push(definition.selectionSet);
    }
    for (let set = pending.pop(); set; set = pending.pop()) {
      for (const selection of set.selections) {
        this.visit();
        if (selection.kind === Kind.FIELD && selection.alias && ++aliases > this.limits.maxAliases) {
          this.stop('aliases', `Too many aliases: more than ${this.limits.maxAliases}.`);
        }
        if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) pending.push(selection.selectionSet);
      }
    }
  }

  /**
   * Depth (relative to `set`'s parent) and cost of a selection set. `level` is the depth of the parent
   * and `cost` the cost already counted around it: both only serve to stop early, a measure itself is
   * relative, so a fragment's can be reused wherever it is spread. `pageBound` is the size a page
   * object's parent field declared, for its list fields that declare none. `lists` counts the lists
   * nested inside an introspection field (undefined outside one).
   */
  private selection(set: SelectionSetNode, parent: GraphQLCompositeType, level: number, pageBound: Bound, lists: Lists): Measure {
    let depth = 0;
    let cost = 0;
    for (const selection of set.selections) {
      this.visit();
      let measure: Measure;
      if (selection.kind === Kind.FIELD) {
        measure = this.field(selection, parent, level, pageBound, lists);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : parent;
        measure = type && isCompositeType(type) ? this.selection(selection.selectionSet, type, level, pageBound, lists) : EMPTY;
      } else {
        measure = this.fragment(selection.name.value, level, pageBound, lists);
      }
      // A fragment measured once may be spread again further down.
      if (level + measure.depth > this.limits.maxDepth) this.tooDeep();
      depth = Math.max(depth, measure.depth);
      cost += measure.cost;
      if (cost > this.limits.maxCost) this.tooCostly();
    }
    return { depth, cost };
  }

  private fragment(name: string, level: number, pageBound: Bound, lists: Lists): Measure {
    const fragment = this.fragments.get(name);
    if (!fragment) return EMPTY;
    const key = `${name}\u0000${pageBound ?? ''}\u0000${lists}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known ?? EMPTY;
    const type = this.schema.getType(fragment.typeCondition.name.value);
    this.memo.set(key, null);
    const measure = type && isCompositeType(type) ? this.selection(fragment.selectionSet, type, level, pageBound, lists) : EMPTY;
    this.memo.set(key, measure);
    return measure;
  }

  private field(node: FieldNode, parent: GraphQLCompositeType, level: number, pageBound: Bound, lists: Lists): Measure {
    const name = node.name.value;
    if (name === '__typename') return { depth: 1, cost: 1 };
    if (INTROSPECTION_ENTRY.has(name) || lists !== undefined) return this.introspection(node, parent, lists ?? 0);
    const field = fieldOf(parent, name);
    if (!field) return { depth: 1, cost: 1 };
    const type = getNamedType(field.type);
    const ownBound = declaredBound(field, node);
    const isList = isListType(getNullableType(field.type));
    const factor = isList ? (ownBound ?? pageBound ?? this.limits.listFactor) : 1;
    if (level + 1 > this.limits.maxDepth) this.tooDeep();
    const innerBound = isList ? undefined : ownBound;
    // A page object (a non-list field with a page size) hands its bound to the lists right inside it.
    const inner =
      node.selectionSet && isCompositeType(type) ? this.selection(node.selectionSet, type, level + 1, innerBound, lists) : EMPTY;
    return { depth: inner.depth + 1, cost: 1 + Math.max(1, factor) * inner.cost };
  }

  /**
   * Introspection: refused when switched off; otherwise exempt from depth and cost (its TypeRef chains
   * run deep), but its lists may nest only as deep as the standard introspection query nests them,
   * since each nested list multiplies the result by the schema's width.
   */
  private introspection(node: FieldNode, parent: GraphQLCompositeType, lists: number): Measure {
    const name = node.name.value;
    if (!this.limits.introspection && INTROSPECTION_ENTRY.has(name)) {
      this.stop('introspection', `GraphQL introspection has been disabled, but the requested query contained the field "${name}".`);
    }
    const field = name === '__schema' ? SchemaMetaFieldDef : name === '__type' ? TypeMetaFieldDef : fieldOf(parent, name);
    const nested = field && isListType(getNullableType(field.type)) ? lists + 1 : lists;
    if (nested > MAX_INTROSPECTION_LIST_NESTING) {
      this.stop('depth', `Introspection lists may nest at most ${MAX_INTROSPECTION_LIST_NESTING} deep.`);
    }
    const type = field ? getNamedType(field.type) : undefined;
    if (node.selectionSet && type && isCompositeType(type)) this.selection(node.selectionSet, type, 0, undefined, nested);
    return { depth: 1, cost: 1 };
  }

  private tooCostly(): never {
    const hint = 'each list counts as many items as it may return: a smaller `limit` costs less';
    this.stop('cost', `Operation${this.operation} costs more than ${this.limits.maxCost} (${hint}).`);
  }

  private tooDeep(): never {
    this.stop('depth', `Operation${this.operation} is more than ${this.limits.maxDepth} levels deep.`);
  }

  private visit(): void {
    if (++this.visited > this.limits.maxNodes) {
      this.stop('nodes', `Document is too large to check: more than ${this.limits.maxNodes} selections.`);
    }
  }

  private stop(limit: MeasuredLimit, message: string): never {
    throw new Stop({ limit, message });
  }
}

function fieldOf(parent: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}

/**
 * The items a field with `extensions.pageSize` returns for this use: its literal `limit` argument
 * capped by the maximum, the default without one, the maximum when it comes from a variable (the
 * check runs once per document text, before variables are known).
 */
function declaredBound(field: GraphQLField<unknown, unknown>, node: FieldNode): number | undefined {
  const size = field.extensions?.pageSize as PageSize | undefined;
  if (!size) return undefined;
  const argument = node.arguments?.find((arg) => arg.name.value === 'limit');
  if (!argument || argument.value.kind === Kind.NULL) return size.default ?? size.max;
  if (argument.value.kind !== Kind.INT) return size.max;
  const limit = Number(argument.value.value);
  return limit > 0 ? Math.min(limit, size.max) : (size.default ?? size.max);
}
