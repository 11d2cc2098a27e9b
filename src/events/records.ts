/**
 * Change records: what an ORM write did to one row, and how several writes to one row in one
 * transaction fold into the one record its subscribers see.
 */
export type Row = Record<string, unknown>;
export type ChangeAction = 'create' | 'update' | 'delete';

/** One row's change, as the model hooks capture it and the PubSub carries it. */
export interface ChangeRecord {
  /** The model's name (its class name unless the model sets `static changeName`). */
  model: string;
  action: ChangeAction;
  pk: unknown;
  /** The row before the write; absent for a create. */
  before?: Row | null;
  /** The row after the write; null for a delete. */
  after: Row | null;
  /**
   * For a delete folded from earlier writes of the same transaction: the row as it was when deleted
   * (`before` then stays the state subscribers last saw, which decides the groups it leaves).
   */
  last?: Row | null;
  /** The change log's sequence number, once the record is logged (set just before its commit). */
  seq?: number;
}

/** The parts every message on a model or row topic has. */
interface MessageBase {
  model: string;
  pk: unknown;
  /** The row's new state, or its last state for a delete (`{}` for a truncate). */
  data: Row;
  before?: Row | null;
  /** The change's position in the change log (every committed change of a live model, when the app has the log). */
  position?: string;
  /** The log's sequence number behind `position` (for ordering; clients see `position`). */
  seq?: number;
}

/** What a topic carries for one row's change (the model hooks' record, as subscribers receive it). */
export interface RowChangeMessage extends MessageBase {
  /** Relative to the topic: a row that left a group is a `delete` there, one that entered is a `create`. */
  action: ChangeAction;
}

/**
 * The model's table was emptied (`TRUNCATE`, read from the change log): it concerns every row, so it
 * reaches the model topic, every group and every row topic of the model, with a null pk and an empty
 * `data` that no serializer may see.
 */
export interface TruncateMessage extends MessageBase {
  action: 'truncate';
}

/** What a model or row topic carries: one row's change, or a truncate of the model's table. */
export type ChangeMessage = RowChangeMessage | TruncateMessage;

/** Whether a message says its model's table was emptied (no row of it, no state to show: subscribers must read again). */
export function isTruncate(message: ChangeMessage): message is TruncateMessage {
  return message.action === 'truncate';
}

/**
 * What a subscriber is told when its model's table was emptied (DCRF's `resync` event, GraphQL's
 * RESYNC error): every subscription of the model gets it, whatever its rows, since it reveals no row.
 */
export function resyncReason(model: string): string {
  return `${model} was emptied (TRUNCATE): read again and subscribe since the position of that read.`;
}

/** The state a subscriber shows for a record: the new row, or the last one for a delete. */
export function lastState(record: ChangeRecord): Row {
  return (record.after ?? record.last ?? record.before ?? {}) as Row;
}

/**
 * Folds a later write into an earlier record of the same row (same transaction). Returns null when
 * the two cancel out (created and deleted in one transaction).
 */
export function mergeRecords(first: ChangeRecord, next: ChangeRecord): ChangeRecord | null {
  if (first.action === 'create') {
    if (next.action === 'delete') return null;
    return { ...first, after: next.after };
  }
  if (next.action === 'delete') {
    // Groups are decided by what subscribers last saw (the state before the transaction); the data
    // of the delete is the row as the transaction left it just before deleting it.
    return { ...next, before: first.before ?? next.before, last: next.before ?? first.after };
  }
  if (first.action === 'delete') {
    // Deleted then re-created with the same key: subscribers see the row change in place.
    return { ...next, action: 'update', before: first.before };
  }
  return { ...first, after: next.after };
}

function recordKey(model: string, pk: unknown): string {
  return `${model}\u0000${String(pk)}`;
}

/** Records of one transaction, one per row, in the order each row was first written. */
export class ChangeSet {
  private readonly byKey = new Map<string, ChangeRecord>();

  add(record: ChangeRecord): void {
    const key = recordKey(record.model, record.pk);
    const previous = this.byKey.get(key);
    if (!previous) {
      this.byKey.set(key, record);
      return;
    }
    const merged = mergeRecords(previous, record);
    if (merged) this.byKey.set(key, merged);
    else this.byKey.delete(key);
  }

  addAll(records: Iterable<ChangeRecord>): this {
    for (const record of records) this.add(record);
    return this;
  }

  /** The folded record of one row, if this set has one. */
  get(model: string, pk: unknown): ChangeRecord | undefined {
    return this.byKey.get(recordKey(model, pk));
  }

  get size(): number {
    return this.byKey.size;
  }

  records(): ChangeRecord[] {
    return [...this.byKey.values()];
  }
}
