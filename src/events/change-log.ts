/**
 * The change log: every committed change of a live (observed) model, written in the transaction that
 * made it, with a commit-ordered sequence number. It makes events durable (a PubSub outage or a writer
 * killed after its commit loses nothing: readers fill the gap from here) and replayable (a subscriber
 * resumes `since` a position).
 *
 * Positions are `<epoch>.<seq base36>`: the epoch is made when the log is created (a one-row meta
 * table), so a position of another database or of a reset log is recognised as expired.
 * Commit order: SQLite has one writer at a time, so rowid order is commit order (a new row takes the
 * largest rowid plus one; pruning never deletes the newest entry, so no sequence number is ever given
 * twice, without AUTOINCREMENT's extra page write per commit). On PostgreSQL every appender holds the
 * append lock (a transaction-scoped advisory lock) from before its sequence number until its
 * transaction ends: exclusively on the ORM path (its entries' numbers then follow every settled one),
 * shared by the capture triggers, which append at COMMIT, so that commits of captured writes flush
 * together instead of one after another. A number taken under the shared lock may commit after a later
 * one, so readers never trust what is merely visible: they read how far the sequence went, take the
 * lock exclusively for an instant (granted once every appender still holding it has ended), and only
 * then read up to that number (`newestSeq`). What a reader delivers is never followed by an older entry.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { isPostgres, onConnection, type PgClient, type SqliteConnection } from '../db/connection.js';
import type { Migration } from '../db/migrations.js';
import type { ChangeAction, ChangeRecord, Row } from './records.js';

/** An opaque resume token (at most 64 characters): the log's epoch and a commit-ordered sequence number. */
export type Position = string;

/** A position that cannot be resumed: not one at all (`malformed`), or pruned / of another log (`expired`). */
export class PositionError extends Error {
  constructor(
    readonly kind: 'malformed' | 'expired',
    /** For `expired`: the log's newest position, how far it is now. */
    readonly head?: Position,
  ) {
    super(kind === 'malformed' ? 'Not a valid position.' : 'Position expired: read again and subscribe since the position of that read.');
    this.name = 'PositionError';
  }
}

/** The log table and its one-row meta table (epoch, how far pruning went). */
export const CHANGE_LOG_TABLE = 'dcrf_change_log';
export const CHANGE_LOG_META_TABLE = 'dcrf_change_log_meta';

/**
 * Any constant shared by every process of the app: names the lock that orders log appends on PostgreSQL
 * (the ORM's appends and the capture triggers' alike).
 */
export const APPEND_LOCK_KEY = 0x64636c67;
/** Another one for pruning (one process at a time). */
const PRUNE_LOCK_KEY = 0x64636c70;

const POSITION_PATTERN = /^([0-9a-z]{4,24})\.([0-9a-z]{1,13})$/;

/**
 * The migration that creates the log: apps list it with their own (`migrate(knex, [...mine, changeLogMigration])`).
 * Without it, events stay best-effort and carry no positions.
 */
export const changeLogMigration: Migration = {
  name: 'dcrf-0001-change-log',
  async up(knex) {
    if (isPostgres(knex)) {
      await knex.schema.createTable(CHANGE_LOG_TABLE, (table) => {
        table.bigIncrements('seq');
        table.string('model', 200).notNullable();
        table.text('pk').notNullable();
        table.string('action', 8).notNullable();
        table.text('before_row');
        table.text('row_data').notNullable();
        table.bigInteger('committed_at').notNullable();
      });
    } else await knex.raw(sqliteLogTable(CHANGE_LOG_TABLE));
    await knex.schema.createTable(CHANGE_LOG_META_TABLE, (table) => {
      table.string('epoch', 24).notNullable();
      table.bigInteger('pruned_through').notNullable().defaultTo(0);
    });
    await knex(CHANGE_LOG_META_TABLE).insert({ epoch: newEpoch(), pruned_through: 0 });
  },
  async down(knex) {
    await knex.schema.dropTableIfExists(CHANGE_LOG_TABLE);
    await knex.schema.dropTableIfExists(CHANGE_LOG_META_TABLE);
  },
};

/**
 * SQLite's log table: the columns knex's `bigIncrements` and friends make, but `seq` a plain rowid key.
 * AUTOINCREMENT writes its counter (a page of `sqlite_sequence`) on every append: about a quarter of a
 * small write's SQLite time. The rowid's own rule (largest plus one) gives commit order as well, and
 * pruning keeps the newest entry so the largest is never taken away.
 */
function sqliteLogTable(name: string): string {
  return (
    `create table \`${name}\` (\`seq\` integer not null primary key, \`model\` varchar(200) not null, \`pk\` text not null, ` +
    '`action` varchar(8) not null, `before_row` text, `row_data` text not null, `committed_at` bigint not null)'
  );
}

/**
 * Moves a SQLite log made by an earlier version (`seq` AUTOINCREMENT) to the plain rowid key
 * (`changeLogMigration` makes new logs so): the table is copied into the new shape, entries and
 * positions unchanged. A log pruned empty would start again at 1, below positions already given, so
 * then the log takes a new epoch instead: those positions answer "expired" (410), as after a reset,
 * and clients read again. PostgreSQL: nothing to do. `createApp` applies it with `changeLogMigration`;
 * an app that lists the change log's migrations itself adds this one after it.
 */
export const changeLogRowidMigration: Migration = {
  name: 'dcrf-0002-change-log-rowid',
  async up(knex) {
    if (isPostgres(knex)) return;
    const [table] = (await knex.raw("select sql from sqlite_master where type = 'table' and name = ?", [CHANGE_LOG_TABLE])) as Array<{
      sql: string;
    }>;
    if (!table || !/autoincrement/i.test(table.sql)) return;
    const [issued] = (await knex.raw('select seq from sqlite_sequence where name = ?', [CHANGE_LOG_TABLE])) as Array<{ seq: unknown }>;
    const old = `${CHANGE_LOG_TABLE}_autoincrement`;
    // The capture triggers name the log: with the legacy rule, renaming the old table leaves them naming
    // `dcrf_change_log`, which the new table then is (the current rule would rewrite them to the old one).
    await knex.raw('pragma legacy_alter_table = on');
    try {
      await knex.raw(`alter table \`${CHANGE_LOG_TABLE}\` rename to \`${old}\``);
      await knex.raw(sqliteLogTable(CHANGE_LOG_TABLE));
      await knex.raw(
        `insert into \`${CHANGE_LOG_TABLE}\` select seq, model, pk, action, before_row, row_data, committed_at from \`${old}\``,
      );
      await knex.raw(`drop table \`${old}\``);
    } finally {
      await knex.raw('pragma legacy_alter_table = off');
    }
    const [{ count }] = (await knex.raw(`select count(*) as count from \`${CHANGE_LOG_TABLE}\``)) as Array<{ count: number }>;
    if (Number(count) === 0 && Number(issued?.seq ?? 0) > 0)
      await knex(CHANGE_LOG_META_TABLE).update({ epoch: newEpoch(), pruned_through: 0 });
  },
};

/** A fresh epoch: 12 base36 characters, distinct per log creation. */
function newEpoch(): string {
  return BigInt(`0x${randomBytes(8).toString('hex')}`)
    .toString(36)
    .padStart(12, '0')
    .slice(0, 12);
}

/** One entry read back from the log. */
export interface LogEntry {
  seq: number;
  position: Position;
  model: string;
  pk: unknown;
  action: ChangeAction;
  before: Row | null;
  /** The row as the change left it; for a delete, its last state. */
  data: Row;
}

/** What to read: which models (undefined = all), optionally one row. */
export interface LogFilter {
  models?: readonly string[];
  /** One row's change: its primary key as the log stores it (JSON), in any of the given spellings. */
  pk?: readonly string[];
}

/** Retention settings (`CHANGE_LOG_RETENTION`, `CHANGE_LOG_MAX_ROWS`). */
export interface RetentionOptions {
  retentionMs?: number;
  maxRows?: number;
}

export const DEFAULT_RETENTION_MS = 24 * 3600_000;
export const DEFAULT_MAX_ROWS = 1_000_000;
/** Records one INSERT appends at most (6 parameters each: SQLite allows 32766, PostgreSQL 65535). */
const APPEND_CHUNK = 1000;
/** Rows one prune statement deletes at most (keeps each statement short). */
const PRUNE_BATCH = 10_000;

/** Counters and gauges of the log for `/metrics`. */
export interface ChangeLogStats {
  replayed: number;
  expired: number;
  /** Newest sequence number seen by this process. */
  headSeq: number;
  rows: number;
  oldestSeconds: number;
}

export class ChangeLog {
  /** Always true: the app's database has the log (see Runtime's `changeLog`). */
  readonly enabled = true;
  readonly stats: ChangeLogStats = { replayed: 0, expired: 0, headSeq: 0, rows: 0, oldestSeconds: 0 };
  /**
   * Models whose entries database triggers write (events/capture/): announced by no PubSub message,
   * they reach subscribers by reading the log (their live path, not a replay).
   */
  databaseModels: ReadonlySet<string> = new Set();

  /** Whether triggers append entries too: a subscription then reaches the log's head before it goes live, in-process too. */
  get writtenByDatabase(): boolean {
    return this.databaseModels.size > 0;
  }
  readonly retentionMs: number;
  readonly maxRows: number;
  private readonly postgres: boolean;
  /** The last known `pruned_through` of the meta table. */
  private pruned = 0;

  private constructor(
    private readonly knex: Knex,
    /** This log's identity: positions of another epoch are expired. */
    readonly epoch: string,
    retention: RetentionOptions,
  ) {
    this.postgres = isPostgres(knex);
    this.retentionMs = retention.retentionMs ?? DEFAULT_RETENTION_MS;
    this.maxRows = retention.maxRows ?? DEFAULT_MAX_ROWS;
  }

  /** The log of `knex`'s database, or undefined when its migration has not run (events then carry no positions). */
  static async open(knex: Knex, retention: RetentionOptions = {}): Promise<ChangeLog | undefined> {
    if (!(await knex.schema.hasTable(CHANGE_LOG_META_TABLE))) return undefined;
    const meta = (await knex(CHANGE_LOG_META_TABLE).first('epoch')) as { epoch: string } | undefined;
    if (!meta) return undefined;
    const log = new ChangeLog(knex, meta.epoch, retention);
    await log.prunedThrough();
    return log;
  }

  /** The position of a sequence number in this log. */
  position(seq: number): Position {
    return `${this.epoch}.${seq.toString(36)}`;
  }

  /**
   * Appends a transaction's folded records, inside it, just before its COMMIT; returns their sequence
   * numbers in order. On PostgreSQL the advisory lock taken here is held until the commit.
   */
  async append(trx: Knex.Transaction, records: readonly ChangeRecord[]): Promise<number[]> {
    if (this.postgres) await trx.raw('select pg_advisory_xact_lock(?)', [APPEND_LOCK_KEY]);
    const now = Date.now();
    const seqs: number[] = [];
    for (let start = 0; start < records.length; start += APPEND_CHUNK) {
      seqs.push(...(await this.appendChunk(trx, records.slice(start, start + APPEND_CHUNK), now)));
    }
    return seqs;
  }

  /** One multi-row INSERT (its sequence numbers are consecutive in insertion order). */
  private async appendChunk(trx: Knex.Transaction, records: readonly ChangeRecord[], now: number): Promise<number[]> {
    const values: unknown[] = [];
    for (const record of records) {
      const data = record.after ?? record.last ?? record.before ?? {};
      values.push(record.model, JSON.stringify(record.pk ?? null), record.action, record.before ? JSON.stringify(record.before) : null);
      values.push(JSON.stringify(data), now);
    }
    const placeholders = records.length === 1 ? '(?, ?, ?, ?, ?, ?)' : records.map(() => '(?, ?, ?, ?, ?, ?)').join(', ');
    const sql = `insert into ${CHANGE_LOG_TABLE} (model, pk, action, before_row, row_data, committed_at) values ${placeholders} returning seq`;
    if (!this.postgres) {
      // SQLite: straight on the transaction's connection (its prepared statements are cached), without
      // knex's per-query work: this runs on every logged write.
      const rows = (await onConnection(trx, (connection: SqliteConnection) => connection.prepare(sql).all(...values))) as Array<{
        seq: unknown;
      }>;
      return rows.map((row) => Number(row.seq)).sort((a, b) => a - b);
    }
    const result = (await trx.raw(sql, values as Knex.RawBinding[])) as { rows?: Array<{ seq: unknown }> } | Array<{ seq: unknown }>;
    const rows = Array.isArray(result) ? result : (result.rows ?? []);
    return rows.map((row) => Number(row.seq)).sort((a, b) => a - b);
  }

  /**
   * The newest sequence number every older one of which is settled (0 when empty): one index lookup on
   * SQLite (the feed's poll); on PostgreSQL after the append lock's fence (see the top of this file).
   */
  newestSeq(): Promise<number> {
    return this.postgres ? this.settledNewestPostgres() : newestSeqOf(this.knex, false);
  }

  /** PostgreSQL: the log's sequence, as `pg_get_serial_sequence` names it (read once). */
  private sequence: string | undefined;

  private async settledNewestPostgres(): Promise<number> {
    this.sequence ??= await logSequenceOf(this.knex);
    const fence = fenceText(this.sequence);
    return onConnection(this.knex, async (client: PgClient) => {
      const reached = (await client.query({ name: 'dcrf_log_fence', text: fence, values: [APPEND_LOCK_KEY] })).rows[0] as
        | { last_value: unknown; is_called: boolean }
        | undefined;
      if (!reached?.is_called) return 0;
      const settled = (await client.query({ name: 'dcrf_log_settled', text: SETTLED_NEWEST_SEQ, values: [reached.last_value] })).rows[0] as
        | { seq: unknown }
        | undefined;
      return Number(settled?.seq ?? 0) || 0;
    });
  }

  /**
   * A read on SQLite, straight on the connection (its prepared statements are cached) without knex's
   * query building: the feed reads the log after every wake-up.
   */
  private sqliteAll(sql: string, values: unknown[]): Promise<Array<Record<string, unknown>>> {
    return onConnection(
      this.knex,
      (connection: SqliteConnection) => connection.prepare(sql).all(...values) as Array<Record<string, unknown>>,
    );
  }

  /** The newest committed sequence number (0 for an empty log). */
  async headSeq(): Promise<number> {
    // After a prune that emptied the table, the head is still where pruning went: read it, since
    // another process (or another instance) may have pruned.
    const newest = await this.newestSeq();
    const seq = Math.max(newest, newest > 0 ? this.pruned : await this.prunedThrough());
    if (seq > this.stats.headSeq) this.stats.headSeq = seq;
    return seq;
  }

  /** The newest committed position (the epoch's zero position when the log is empty). */
  async head(): Promise<Position> {
    return this.position(await this.headSeq());
  }

  /** The sequence number a position names; throws PositionError when it is malformed or cannot resume. */
  async resolve(position: string): Promise<number> {
    const match = typeof position === 'string' && position.length <= 64 ? POSITION_PATTERN.exec(position) : null;
    if (!match) throw new PositionError('malformed');
    const seq = parseInt(match[2]!, 36);
    if (!Number.isSafeInteger(seq)) throw new PositionError('malformed');
    if (match[1] !== this.epoch) return this.expired();
    const pruned = await this.prunedThrough();
    const head = await this.headSeq();
    // Older than what was pruned (entries after it are gone), or newer than anything written here.
    if (seq < pruned || seq > head) return this.expired();
    return seq;
  }

  /** Throws PositionError unless `position` resumes. */
  async check(position: string): Promise<void> {
    await this.resolve(position);
  }

  private async expired(): Promise<never> {
    this.stats.expired++;
    throw new PositionError('expired', await this.head());
  }

  /** How far pruning went (any process's): positions before it are expired. Refreshed on every read of it. */
  private async prunedThrough(): Promise<number> {
    const meta = (await this.knex(CHANGE_LOG_META_TABLE).first('pruned_through')) as { pruned_through: unknown } | undefined;
    this.pruned = Math.max(this.pruned, Number(meta?.pruned_through ?? 0) || 0);
    return this.pruned;
  }

  /** Entries with `after < seq <= upTo`, in order, at most `limit`. */
  async read(after: number, upTo: number, filter: LogFilter = {}, limit = 1000): Promise<LogEntry[]> {
    const rows = this.postgres ? await this.readPostgres(after, upTo, filter, limit) : await this.readSqlite(after, upTo, filter, limit);
    return rows.map((row) => this.entryOf(row));
  }

  /**
   * The newest entry, read on a SQLite connection inside the transaction that wrote it (no other
   * connection can have appended since: the transaction holds SQLite's write lock).
   */
  newestEntryOn(connection: SqliteConnection): LogEntry | undefined {
    const row = connection.prepare(NEWEST_ENTRY).get() as Record<string, unknown> | undefined;
    return row ? this.entryOf(row) : undefined;
  }

  private entryOf(row: Record<string, unknown>): LogEntry {
    const seq = Number(row.seq);
    return {
      seq,
      position: this.position(seq),
      model: String(row.model),
      pk: JSON.parse(String(row.pk)),
      action: row.action as ChangeAction,
      before: row.before_row ? (JSON.parse(String(row.before_row)) as Row) : null,
      data: JSON.parse(String(row.row_data)) as Row,
    };
  }

  /**
   * A read on PostgreSQL as a named prepared statement (parsed once per connection; the model and key
   * lists are array parameters, so one statement serves every list): the feed reads the log after every
   * wake-up, and building the query through knex cost more than running it.
   */
  private async readPostgres(after: number, upTo: number, filter: LogFilter, limit: number): Promise<Array<Record<string, unknown>>> {
    const values: unknown[] = [after, upTo, limit];
    let text = `select * from ${CHANGE_LOG_TABLE} where seq > $1 and seq <= $2`;
    let name = 'dcrf_log_read';
    if (filter.models) {
      values.push(filter.models);
      text += ` and model = any($${values.length}::text[])`;
      name += '_models';
    }
    if (filter.pk !== undefined) {
      values.push(filter.pk);
      text += ` and pk = any($${values.length}::text[])`;
      name += '_pk';
    }
    text += ' order by seq limit $3';
    return onConnection(this.knex, async (client: PgClient) => (await client.query({ name, text, values })).rows);
  }

  private readSqlite(after: number, upTo: number, filter: LogFilter, limit: number): Promise<Array<Record<string, unknown>>> {
    const values: unknown[] = [after, upTo];
    let sql = `select * from ${CHANGE_LOG_TABLE} where seq > ? and seq <= ?`;
    // An empty list matches nothing, as knex's whereIn([]) does.
    if (filter.models) {
      sql += filter.models.length ? ` and model in (${filter.models.map(() => '?').join(', ')})` : ' and 0';
      values.push(...filter.models);
    }
    if (filter.pk !== undefined) {
      sql += filter.pk.length ? ` and pk in (${filter.pk.map(() => '?').join(', ')})` : ' and 0';
      values.push(...filter.pk);
    }
    values.push(limit);
    return this.sqliteAll(`${sql} order by seq limit ?`, values);
  }

  /** Whether the log has changes of one row after `after` (a resumed instance subscription of a deleted row). */
  async hasChangesOf(model: string, pk: unknown, after: number): Promise<boolean> {
    const row = await this.knex(CHANGE_LOG_TABLE)
      .where('seq', '>', after)
      .andWhere({ model, pk: JSON.stringify(pk) })
      .first('seq');
    return Boolean(row);
  }

  /**
   * Deletes entries past the retention or beyond the row bound, a batch per statement; one process at
   * a time on PostgreSQL (the others skip). On SQLite the newest entry always stays (its sequence
   * number is where the next append continues). Returns how many were deleted.
   */
  async prune(now = Date.now()): Promise<number> {
    return this.knex.transaction(async (trx) => {
      if (this.postgres) {
        const locked = (await trx.raw('select pg_try_advisory_xact_lock(?) as locked', [PRUNE_LOCK_KEY])) as {
          rows: Array<{ locked: boolean }>;
        };
        if (!locked.rows[0]?.locked) return 0;
      }
      const bounds = (await trx(CHANGE_LOG_TABLE).min({ oldest: 'seq' }).max({ newest: 'seq' }).first()) as {
        oldest: unknown;
        newest: unknown;
      };
      const newest = Number(bounds?.newest ?? 0) || 0;
      let through = Math.max(0, newest - this.maxRows);
      // SQLite: the newest entry stays, or the next append would take a sequence number given before.
      const keep = this.postgres ? newest : newest - 1;
      const batchEnd = (Number(bounds?.oldest ?? 0) || 0) + PRUNE_BATCH - 1;
      const old = (await trx(CHANGE_LOG_TABLE)
        .where('committed_at', '<', now - this.retentionMs)
        .andWhere('seq', '<=', batchEnd)
        .max({ seq: 'seq' })
        .first()) as { seq: unknown } | undefined;
      through = Math.min(Math.max(through, Number(old?.seq ?? 0) || 0), keep);
      if (through <= 0) return 0;
      const deleted = await trx(CHANGE_LOG_TABLE).where('seq', '<=', through).delete();
      await trx(CHANGE_LOG_META_TABLE).where('pruned_through', '<', through).update({ pruned_through: through });
      this.pruned = Math.max(this.pruned, through);
      return deleted;
    });
  }

  /** Refreshes the gauges of `stats` (rows, age of the oldest entry, head). */
  async measure(now = Date.now()): Promise<ChangeLogStats> {
    const bounds = (await this.knex(CHANGE_LOG_TABLE).min({ oldest: 'seq' }).max({ newest: 'seq' }).first()) as {
      oldest: unknown;
      newest: unknown;
    };
    const oldest = Number(bounds?.oldest ?? 0) || 0;
    const newest = Number(bounds?.newest ?? 0) || 0;
    this.stats.rows = oldest ? newest - oldest + 1 : 0;
    if (newest > this.stats.headSeq) this.stats.headSeq = newest;
    const first = oldest
      ? ((await this.knex(CHANGE_LOG_TABLE).where('seq', oldest).first('committed_at')) as { committed_at: unknown } | undefined)
      : undefined;
    this.stats.oldestSeconds = first ? Math.max(0, (now - Number(first.committed_at)) / 1000) : 0;
    return this.stats;
  }
}

const NEWEST_SEQ = `select max(seq) as seq from ${CHANGE_LOG_TABLE}`;
const SETTLED_NEWEST_SEQ = `select max(seq) as seq from ${CHANGE_LOG_TABLE} where seq <= $1`;

/**
 * How far the log's sequence went, read before the append lock is taken exclusively (the lock's key
 * depends on the sequence's row, so PostgreSQL cannot take it first). Run on its own, the statement is
 * its own transaction: the lock is let go as soon as it is granted.
 */
function fenceText(sequence: string): string {
  return `select s.last_value, s.is_called from ${sequence} s cross join lateral (select pg_advisory_xact_lock($1::bigint + 0 * s.last_value)) fence`;
}

/** The PostgreSQL sequence behind the log's `seq` (its migration makes it a bigserial). */
async function logSequenceOf(knex: Knex): Promise<string> {
  const result = (await knex.raw(`select pg_get_serial_sequence(?, 'seq') as name`, [CHANGE_LOG_TABLE])) as {
    rows: Array<{ name: string | null }>;
  };
  const name = result.rows[0]?.name;
  if (!name) throw new Error(`${CHANGE_LOG_TABLE}.seq has no sequence: run changeLogMigration (its seq column is a bigserial)`);
  return name;
}
const NEWEST_ENTRY = `select * from ${CHANGE_LOG_TABLE} order by seq desc limit 1`;

/**
 * The log's newest sequence number (0 when empty) as `knex` sees it: the pool's view, or a
 * transaction's own. SQLite: one cached statement on the connection, without knex's per-query work
 * (it runs after every wake-up of the feed, and before the first captured write of a transaction).
 */
export async function newestSeqOf(knex: Knex | Knex.Transaction, postgres: boolean): Promise<number> {
  const row = postgres
    ? ((await onConnection(
        knex,
        async (client: PgClient) => (await client.query({ name: 'dcrf_log_newest', text: NEWEST_SEQ })).rows[0],
      )) as { seq: unknown } | undefined)
    : ((await onConnection(knex, (connection: SqliteConnection) => connection.prepare(NEWEST_SEQ).get())) as { seq: unknown } | undefined);
  return Number(row?.seq ?? 0) || 0;
}
