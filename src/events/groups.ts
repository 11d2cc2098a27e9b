/**
 * Observer groups, judged where the events are received. A group subscription listens to its model's
 * topic; each message is judged once per grouping (an observer's `groupsOf`) on the row's state before
 * and after the write, which names the groups it concerns and the action relative to each: a row that
 * left a group is a `delete` there, one that stayed an `update`, one that entered a `create`. Nothing is
 * registered or published per group, so every process judges the same way with no set-up, and a past
 * change's groups follow from that change's own before/after rows.
 */
import { logger } from '../logger.js';
import type { ChangeAction, ChangeRecord, Row } from './records.js';

/** Names the groups a row belongs to, for one observer. */
export type GroupsForRow = (row: Row) => Iterable<string | number>;

/** How an observer sorts a model's rows into groups. Its identity keys the hub's fan-out, so keep one per observer. */
export interface RowGrouping {
  /** The groups a row belongs to. */
  groupsOf(row: Row): Iterable<string | number>;
}

/** What a model topic carries for one row's change (see ChangeMessage): the parts group judging reads. */
export interface GroupedChange {
  action: ChangeAction;
  /** The row's new state, or its last state for a delete. */
  data: Row;
  before?: Row | null;
}

/** What a model topic carries: one row's change, or a truncate of the model's table, which concerns every group (it names no row). */
export type TopicChange = GroupedChange | { action: 'truncate'; data: Row; before?: Row | null };

/** Groups a record touches, with the action relative to each: left = delete, stayed = update, entered = create. */
export function relativeGroups(
  record: Pick<ChangeRecord, 'action' | 'before' | 'after'>,
  groupsForRow: GroupsForRow,
): Map<string, ChangeAction> {
  return groupsBetween(record.action, record.before, record.after, groupsForRow);
}

/** `relativeGroups` of a change as its topic carries it (a delete's `data` is its last state, in no group any more). */
export function relativeGroupsOf(change: GroupedChange, groupsForRow: GroupsForRow): Map<string, ChangeAction> {
  return groupsBetween(change.action, change.before, change.action === 'delete' ? null : change.data, groupsForRow);
}

function groupsBetween(
  action: ChangeAction,
  before: Row | null | undefined,
  after: Row | null | undefined,
  groupsForRow: GroupsForRow,
): Map<string, ChangeAction> {
  const result = new Map<string, ChangeAction>();
  if (action === 'update' && !before) {
    // No earlier state was captured: the row can only be said to have changed where it is now.
    for (const group of groupsForRow(after ?? {})) result.set(String(group), 'update');
    return result;
  }
  const was = before ? new Set([...groupsForRow(before)].map(String)) : new Set<string>();
  const is = after ? new Set([...groupsForRow(after)].map(String)) : new Set<string>();
  for (const group of was) result.set(group, is.has(group) ? 'update' : 'delete');
  for (const group of is) if (!was.has(group)) result.set(group, 'create');
  return result;
}

type Handler = (message: TopicChange) => void;

/**
 * One grouping's local subscribers of one model, indexed by group. Its `onMessage` listens to the
 * model's topic: it judges each message once, then hands each concerned group's handlers the message
 * with the action relative to that group (the message itself where the action is the same, else one
 * copy per action, shared by every group that sees that action).
 */
export class GroupFanout {
  private readonly byGroup = new Map<string, Set<Handler>>();
  private readonly groupsForRow: GroupsForRow;

  constructor(
    private readonly model: string,
    grouping: RowGrouping,
    /** Hands a message to a set of handlers (the hub's dispatch: counted, each handler isolated). */
    private readonly dispatch: (handlers: Set<Handler>, message: TopicChange) => void,
  ) {
    this.groupsForRow = (row) => grouping.groupsOf(row);
  }

  add(group: string, handler: Handler): void {
    let handlers = this.byGroup.get(group);
    if (!handlers) this.byGroup.set(group, (handlers = new Set()));
    handlers.add(handler);
  }

  /** Removes a handler; true when no group has a handler any more. */
  remove(group: string, handler: Handler): boolean {
    const handlers = this.byGroup.get(group);
    if (handlers?.delete(handler) && handlers.size === 0) this.byGroup.delete(group);
    return this.byGroup.size === 0;
  }

  /** The model topic's handler. */
  readonly onMessage = (message: TopicChange & { pk?: unknown }): void => {
    if (this.byGroup.size === 0) return;
    if (message.action === 'truncate') {
      // The table was emptied: every group lost its rows. Its empty row is never judged (user code).
      for (const handlers of [...this.byGroup.values()]) this.dispatch(handlers, message);
      return;
    }
    let groups: Map<string, ChangeAction>;
    try {
      groups = relativeGroupsOf(message, this.groupsForRow);
    } catch (error) {
      // User code (groupsForSignal): this grouping's subscribers miss the event; the others still get it.
      logger.error('observer groups failed', { model: this.model, pk: message.pk, error: String((error as Error)?.stack ?? error) });
      return;
    }
    let copies: Partial<Record<ChangeAction, GroupedChange>> | undefined;
    for (const [group, action] of groups) {
      const handlers = this.byGroup.get(group);
      if (!handlers) continue;
      let relative = message;
      if (action !== message.action) {
        copies ??= {};
        relative = copies[action] ??= { ...message, action };
      }
      this.dispatch(handlers, relative);
    }
  };
}
