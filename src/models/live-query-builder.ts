/**
 * The query builder of LiveModel. It adds one thing to Objection's: `insert([...])` of several rows
 * works on every database. Objection batches inserts only on PostgreSQL and SQL Server and refuses
 * them elsewhere; here, elsewhere, the rows are inserted one by one, in order, inside the query's
 * transaction (or a new one), so the batch stays all-or-nothing and each row's hooks run as usual.
 * It also tells LiveModel's hooks when a statement has ended, failed or not (`whenStatementEnds`), and
 * wakes the change feed once a write of a model the database captures has committed (its trigger's log
 * entries reach this process's subscribers at once, not at the feed's next poll).
 */
import { QueryBuilder, type Model, type Page } from 'objection';
import type { Knex } from 'knex';
import { isTransaction, type KnexTransactionLike, outermostOf } from '../events/after-commit.js';
import { beforeCapturedWrite } from '../events/capture/fold.js';
import { isPostgres } from '../db/connection.js';
import { Runtime } from '../runtime.js';

/** The parts of Objection's internal insert operation this module reads. */
interface InsertOperationLike {
  models: Model[];
  isArray: boolean;
}

/** The builder internals (untyped in Objection's typings) this module calls. */
interface BuilderInternals {
  findOperation(selector: string): unknown;
  clone(): LiveQueryBuilder<Model, unknown>;
}

/** Whether the database behind `knex` inserts several rows in one statement with their ids back. */
function batchInsertWorks(knex: Knex): boolean {
  const dialect = (knex.client as { dialect?: string }).dialect;
  return dialect === 'postgresql' || dialect === 'mssql';
}

const STATEMENT_ENDS = Symbol('dcrf-gateway.statementEnds');

type EndCallbacks = Array<() => void>;

/**
 * Runs `callback` when the statement whose hook holds `context` (the hook arguments' query context)
 * has finished executing, successfully or not; at once when no LiveQueryBuilder runs it.
 */
export function whenStatementEnds(context: unknown, callback: () => void): void {
  const stack = (context as Record<symbol, EndCallbacks[] | undefined> | null)?.[STATEMENT_ENDS];
  const current = stack?.at(-1);
  if (current) current.push(callback);
  else callback();
}

export class LiveQueryBuilder<M extends Model, R = M[]> extends QueryBuilder<M, R> {
  declare ArrayQueryBuilderType: LiveQueryBuilder<M, M[]>;
  declare SingleQueryBuilderType: LiveQueryBuilder<M, M>;
  declare MaybeSingleQueryBuilderType: LiveQueryBuilder<M, M | undefined>;
  declare NumberQueryBuilderType: LiveQueryBuilder<M, number>;
  declare PageQueryBuilderType: LiveQueryBuilder<M, Page<M>>;

  override async execute(): Promise<R> {
    const capturing = this.databaseCapturing();
    if (capturing) {
      const knex = this.knex();
      if (isTransaction(knex)) {
        wakeAfterCommit(knex, capturing);
        await beforeCapturedWrite(knex, isPostgres(knex));
        return this.executeStatement();
      }
      try {
        return await this.executeStatement();
      } finally {
        capturing.hub.catchUp();
      }
    }
    // A write outside a transaction of a model whose changes are logged gets one of its own, so the
    // log entries commit atomically with it (the hooks append them just before COMMIT).
    if (this.logsOutsideTransaction()) {
      return (this.knex() as Knex).transaction((trx) => this.transacting(trx).execute()) as Promise<R>;
    }
    return this.executeStatement();
  }

  /** Runs the statement, then the end callbacks its hooks registered. */
  private async executeStatement(): Promise<R> {
    // Child queries share the context object, hence a stack: each execution ends its own callbacks.
    const context = this.context() as unknown as Record<symbol, EndCallbacks[] | undefined>;
    const stack = (context[STATEMENT_ENDS] ??= []);
    const ends: EndCallbacks = [];
    stack.push(ends);
    try {
      return await this.executeWrite();
    } finally {
      const index = stack.lastIndexOf(ends);
      if (index >= 0) stack.splice(index, 1);
      for (const end of ends) end();
    }
  }

  /** The runtime of a write of a model its database captures (triggers log it), else undefined. */
  private databaseCapturing(): Runtime | undefined {
    // The model first: a map lookup, where each operation check scans the builder's operations.
    const runtime = Runtime.of(this.knex());
    const model = this.modelClass() as unknown as Parameters<Runtime['databaseCapture']['covers']>[0];
    if (!runtime?.databaseCapture.covers(model)) return undefined;
    return this.isInsert() || this.isUpdate() || this.isDelete() ? runtime : undefined;
  }

  private logsOutsideTransaction(): boolean {
    if (!(this.isInsert() || this.isUpdate() || this.isDelete())) return false;
    const knex = this.knex() as Knex & { isTransaction?: boolean };
    if (knex.isTransaction) return false;
    const hub = Runtime.of(knex)?.hub;
    const model = this.modelClass() as unknown as { changeName?: string; name: string };
    return Boolean(hub?.changeLog && hub.captures(model.changeName ?? model.name));
  }

  private async executeWrite(): Promise<R> {
    const internals = this as unknown as BuilderInternals;
    const insert = internals.findOperation('insert') as InsertOperationLike | null;
    if (!insert || insert.models.length < 2 || batchInsertWorks(this.knex())) return super.execute();
    const knex = this.knex() as Knex & { isTransaction?: boolean };
    const run = async (trx: Knex.Transaction | Knex): Promise<Model[]> => {
      const inserted: Model[] = [];
      for (const model of insert.models) {
        const single = internals.clone();
        const op = (single as unknown as BuilderInternals).findOperation('insert') as InsertOperationLike;
        op.models = [model];
        op.isArray = false;
        inserted.push((await single.transacting(trx as Knex.Transaction).execute()) as Model);
      }
      return inserted;
    };
    const rows = knex.isTransaction ? await run(knex) : await knex.transaction((trx) => run(trx));
    return (insert.isArray ? rows : rows[0]) as R;
  }
}

/** Transactions whose commit already wakes the feed. */
const wakingAfterCommit = new WeakSet<object>();

/** Wakes `runtime`'s change feed once the outermost transaction around `trx` has ended (a rollback wakes it for nothing). */
function wakeAfterCommit(trx: KnexTransactionLike, runtime: Runtime): void {
  const outermost = outermostOf(trx);
  if (wakingAfterCommit.has(outermost) || !outermost.executionPromise) return;
  wakingAfterCommit.add(outermost);
  const wake = () => runtime.hub.catchUp();
  outermost.executionPromise.then(wake, wake);
}
