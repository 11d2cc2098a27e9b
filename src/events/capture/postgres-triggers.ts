/**
 * PostgreSQL capture triggers: every INSERT, UPDATE and DELETE of a captured table appends one change
 * log entry in the writing transaction, with the columns the ORM path writes.
 *
 * Commit order: the row trigger is a constraint trigger, DEFERRABLE INITIALLY DEFERRED, so it runs at
 * COMMIT; it takes the log's append lock (`APPEND_LOCK_KEY`, the one the ORM path takes exclusively)
 * shared before its INSERT and holds it from COMMIT to its end (no waits behind row locks, no deadlock
 * with them). Shared, so that the commits of captured writes flush together rather than one after
 * another; a number taken first may then commit last, which the log's readers wait out
 * (`ChangeLog.newestSeq`'s fence). Each deferred row event still sees the row
 * versions of its own statement (OLD/NEW), so every write of a row in a transaction is its own entry.
 * Then `pg_notify` wakes the runtimes listening on `CAPTURE_CHANNEL` (PostgreSQL folds the identical
 * notifications of one transaction into one, delivered after the commit), unless the transaction set
 * `dcrf.notify = off`: the gateway's direct writes announce their commits after them instead
 * (announce.ts: a NOTIFY in the transaction serializes commits).
 * A TRUNCATE appends one entry `{action: 'truncate', pk: null, row_data: {}}` from a statement trigger
 * (TRUNCATE fires no row triggers); it takes the lock at once (constraint triggers cannot be on TRUNCATE).
 *
 * Values: the row is `to_jsonb(NEW)`, except the columns `pg` returns as text for the ORM path (bigint,
 * numeric, money, date and time types, see db/knex.ts), which are written as PostgreSQL's text of the
 * value, so a raw write's event serializes as the ORM's does.
 */
import type { Knex } from 'knex';
import { APPEND_LOCK_KEY, CHANGE_LOG_TABLE } from '../change-log.js';
import { quoteTable } from '../../db/connection.js';
import { hasTable } from '../../db/knex.js';

/** The channel the triggers notify after a commit that appended entries. */
export const CAPTURE_CHANNEL = 'dcrf_change_log';

/** Types `pg` hands the ORM path as text: int8, numeric, money, and the date/time types db/knex.ts keeps as text. */
const TEXT_TYPE_OIDS = [20, 1700, 790, 1082, 1083, 1114, 1184, 1186, 1266];

/** The row trigger's name on every captured table (also its constraint's: `SET CONSTRAINTS` names it). */
export const CAPTURE_ROW_TRIGGER = 'dcrf_capture';
const TRUNCATE_TRIGGER = 'dcrf_capture_truncate';

/** A quoted string literal. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

const committedAt = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** The shared trigger functions (made or replaced on every install). */
const FUNCTIONS = `
create or replace function dcrf_capture_row_json(r anyelement, text_columns text[]) returns jsonb
language plpgsql stable as $fn$
declare
  result jsonb := to_jsonb(r);
  name text;
  value text;
begin
  foreach name in array text_columns loop
    execute format('select ($1).%I::text', name) into value using r;
    result := jsonb_set(result, array[name], coalesce(to_jsonb(value), 'null'::jsonb));
  end loop;
  return result;
end
$fn$;

create or replace function dcrf_capture_row() returns trigger
language plpgsql as $fn$
declare
  text_columns text[] := coalesce(TG_ARGV[2:TG_NARGS - 1], array[]::text[]);
  before_json jsonb;
  after_json jsonb;
  change text;
begin
  perform pg_advisory_xact_lock_shared(${APPEND_LOCK_KEY});
  if TG_OP = 'INSERT' then
    change := 'create';
    after_json := dcrf_capture_row_json(NEW, text_columns);
  elsif TG_OP = 'UPDATE' then
    change := 'update';
    before_json := dcrf_capture_row_json(OLD, text_columns);
    after_json := dcrf_capture_row_json(NEW, text_columns);
  else
    change := 'delete';
    before_json := dcrf_capture_row_json(OLD, text_columns);
    after_json := before_json;
  end if;
  insert into ${CHANGE_LOG_TABLE} (model, pk, action, before_row, row_data, committed_at)
  values (TG_ARGV[0], coalesce(after_json -> TG_ARGV[1], 'null'::jsonb)::text, change, before_json::text, after_json::text, ${committedAt});
  if coalesce(current_setting('dcrf.notify', true), '') <> 'off' then
    perform pg_notify('${CAPTURE_CHANNEL}', '');
  end if;
  return null;
end
$fn$;

create or replace function dcrf_capture_truncate() returns trigger
language plpgsql as $fn$
begin
  perform pg_advisory_xact_lock_shared(${APPEND_LOCK_KEY});
  insert into ${CHANGE_LOG_TABLE} (model, pk, action, before_row, row_data, committed_at)
  values (TG_ARGV[0], 'null', 'truncate', null, '{}', ${committedAt});
  if coalesce(current_setting('dcrf.notify', true), '') <> 'off' then
    perform pg_notify('${CAPTURE_CHANNEL}', '');
  end if;
  return null;
end
$fn$;
`;

/** The table's columns, and those written as PostgreSQL's text of the value. */
async function columnsOf(knex: Knex, table: string): Promise<{ columns: string[]; textColumns: string[] }> {
  const result = (await knex.raw(
    'select attname, atttypid::int as type from pg_attribute where attrelid = ?::regclass and attnum > 0 and not attisdropped order by attnum',
    [quoteTable(table)],
  )) as { rows: Array<{ attname: string; type: number }> };
  return {
    columns: result.rows.map((row) => row.attname),
    textColumns: result.rows.filter((row) => TEXT_TYPE_OIDS.includes(row.type)).map((row) => row.attname),
  };
}

/** Installs (or re-installs) the capture triggers of one table; returns its columns. */
export async function installPostgresCapture(knex: Knex, table: string, model: string, pkColumn: string): Promise<string[]> {
  await knex.raw(FUNCTIONS);
  await removePostgresCapture(knex, table);
  const { columns, textColumns } = await columnsOf(knex, table);
  if (!columns.includes(pkColumn)) throw new Error(`capture: table "${table}" has no column "${pkColumn}" (the model's idColumn)`);
  const args = [model, pkColumn, ...textColumns].map(literal).join(', ');
  const quoted = quoteTable(table);
  await knex.raw(
    `create constraint trigger ${CAPTURE_ROW_TRIGGER} after insert or update or delete on ${quoted} deferrable initially deferred for each row execute function dcrf_capture_row(${args})`,
  );
  await knex.raw(
    `create trigger ${TRUNCATE_TRIGGER} after truncate on ${quoted} for each statement execute function dcrf_capture_truncate(${literal(model)})`,
  );
  return columns;
}

/** Removes the capture triggers of one table (none: nothing happens). */
export async function removePostgresCapture(knex: Knex, table: string): Promise<void> {
  const quoted = quoteTable(table);
  if (!(await hasTable(knex, table))) return;
  await knex.raw(`drop trigger if exists ${CAPTURE_ROW_TRIGGER} on ${quoted}`);
  await knex.raw(`drop trigger if exists ${TRUNCATE_TRIGGER} on ${quoted}`);
}

/** Drops the shared trigger functions (once no table uses them). */
export async function dropPostgresFunctions(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists dcrf_capture_row(); drop function if exists dcrf_capture_truncate();');
  await knex.raw('drop function if exists dcrf_capture_row_json(anyelement, text[])');
}

/** Whether the table still carries its row capture trigger (the registry may be stale after a manual change). */
export async function hasPostgresCapture(knex: Knex, table: string): Promise<boolean> {
  const result = (await knex.raw('select 1 from pg_trigger where tgrelid = ?::regclass and tgname = ?', [
    quoteTable(table),
    CAPTURE_ROW_TRIGGER,
  ])) as { rows: unknown[] };
  return result.rows.length > 0;
}
