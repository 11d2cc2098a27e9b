/**
 * The query builder of LiveModel. It adds one thing to Objection's: `insert([...])` of several rows
 * works on every database. Objection batches inserts only on PostgreSQL and SQL Server and refuses
 * them elsewhere; here, elsewhere, the rows are inserted one by one, in order, inside the query's
 * transaction (or a new one), so the batch stays all-or-nothing and each row's hooks run as usual.
 */
import { QueryBuilder, type Model, type Page } from 'objection';
import type { Knex } from 'knex';

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

export class LiveQueryBuilder<M extends Model, R = M[]> extends QueryBuilder<M, R> {
  declare ArrayQueryBuilderType: LiveQueryBuilder<M, M[]>;
  declare SingleQueryBuilderType: LiveQueryBuilder<M, M>;
  declare MaybeSingleQueryBuilderType: LiveQueryBuilder<M, M | undefined>;
  declare NumberQueryBuilderType: LiveQueryBuilder<M, number>;
  declare PageQueryBuilderType: LiveQueryBuilder<M, Page<M>>;

  override async execute(): Promise<R> {
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
