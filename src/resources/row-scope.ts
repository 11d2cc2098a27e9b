/**
 * Row scopes: which rows of a resource a connection may see, as one rule that runs both as SQL (list,
 * retrieve, and the lookups of writes and subscriptions) and in memory, where a change event is judged
 * on the row's state before and after the write without asking the database.
 *
 *   new Resource({ model: Note, serializer, scope: ({ user }) => (user ? { owner: user.id } : false) })
 */
import type { Model, QueryBuilder } from 'objection';
import type { ChangeAction, Row } from '../events/records.js';
import type { ConnectionScope } from '../scope.js';

type Query = QueryBuilder<Model, Model[]>;

/** A value a column is compared with. */
export type ColumnValue = string | number | boolean | null;

/** Column equalities every visible row meets (`{}`: every row); `false`: no row at all. */
export type RowFilter = Readonly<Record<string, ColumnValue>> | false;

/**
 * The rows a scope may see, said twice in agreement: as a query narrowing and as a predicate on a row
 * as the table stores it. Write your own pair for rules that are not equalities (both must agree, or
 * events and queries will disagree); `equalityScope` derives both from column equalities.
 */
export interface RowScope {
  /** Narrows a query of the resource's model to the rows `scope` may see. */
  filter(query: Query, scope: ConnectionScope): Query;
  /** Whether `scope` may see `row` (a change event's state before or after the write). */
  matches(row: Row, scope: ConnectionScope): boolean;
}

/** A `RowScope`, or column equalities per scope (turned into one by `equalityScope`). */
export type RowScopeOption = RowScope | ((scope: ConnectionScope) => RowFilter);

/** Builds both halves of a scope from column equalities: `({ user }) => ({ owner: user.id })`. */
export function equalityScope(rule: (scope: ConnectionScope) => RowFilter): RowScope {
  return {
    filter(query, scope) {
      const wanted = rule(scope);
      if (wanted === false) return query.whereRaw('1 = 0') as Query;
      const table = query.modelClass().tableName;
      for (const [column, value] of Object.entries(wanted)) {
        query = (value === null ? query.whereNull(`${table}.${column}`) : query.where(`${table}.${column}`, value as never)) as Query;
      }
      return query;
    },
    matches(row, scope) {
      const wanted = rule(scope);
      if (wanted === false) return false;
      for (const [column, value] of Object.entries(wanted)) if (!sameValue(row[column], value)) return false;
      return true;
    },
  };
}

/** The RowScope of a resource option. */
export function toRowScope(option: RowScopeOption): RowScope {
  return typeof option === 'function' ? equalityScope(option) : option;
}

/**
 * Column equality as the database would say it, for values that took different shapes on the way:
 * integers that came back as text (PostgreSQL bigint), booleans stored as 0/1 (SQLite), a user id
 * given as a string.
 */
function sameValue(stored: unknown, wanted: ColumnValue): boolean {
  if (wanted === null || stored === null || stored === undefined) return (stored ?? null) === wanted;
  if (stored === wanted) return true;
  if (typeof wanted === 'boolean' || typeof stored === 'boolean') return Number(stored) === Number(wanted);
  return (typeof stored === 'number' || typeof stored === 'string' || typeof stored === 'bigint') && String(stored) === String(wanted);
}

/** What one subscriber is told about a change: the action as it sees it, and the state it may see. */
export interface ScopedChange {
  action: ChangeAction;
  row: Row;
  /** Which state of the change `row` is: after the write (`data`) or before it. */
  from: 'data' | 'before';
}

/** The parts of a change message the judgement reads. */
interface ChangeState {
  /** Relative to the topic: `create` = the row entered it, `delete` = it left it (or was deleted). */
  action: ChangeAction;
  /** The state after the write (the last state for a delete). */
  data: Row;
  /** The state before the write; null or absent when unknown (or for a create). */
  before?: Row | null;
}

/**
 * A change as a subscriber whose visible rows are `visible` sees it, on a topic of many rows (every
 * row of a model, or a group): a row that enters the subscriber's view is a `create`, one that leaves
 * it a `delete` carrying the last state the subscriber could see, one it never sees nothing at all.
 * When the state before is unknown, a visible row is an `update` and an invisible one sends nothing:
 * a `delete` could name a row the subscriber never saw.
 */
export function scopedChange(change: ChangeState, visible: (row: Row) => boolean): ScopedChange | undefined {
  const wasVisible = change.action === 'create' ? false : change.before ? visible(change.before) : undefined;
  if (change.action !== 'delete' && visible(change.data)) {
    return { action: wasVisible === false ? 'create' : change.action, row: change.data, from: 'data' };
  }
  if (!wasVisible) return undefined;
  // Left the view: the state after may still be visible (it only left the group), else the state before.
  return visible(change.data)
    ? { action: 'delete', row: change.data, from: 'data' }
    : { action: 'delete', row: change.before as Row, from: 'before' };
}
