/**
 * Related rows carried with a model's own rows (Django's `select_related`): a model that declares
 * `static selectRelated = ['school']` (belongs-to-one relations of its `relationMappings`) has each
 * row it reads for a reply or a change event carry the related row under the relation's name, so a
 * nested serializer (`school = SchoolSerializer(read_only=True)`) shows it without a query of its own,
 * in every subscriber's event alike. One query per relation for a batch of rows.
 */
import type { Knex } from 'knex';
import { Model, type ModelClass } from 'objection';

type Row = Record<string, unknown>;

/** A model class that may declare related rows to carry. */
export type WithRelated = ModelClass<Model> & { selectRelated?: readonly string[] };

/** Whether rows of this model carry related rows (a read must call `embedRelated`). */
export function carriesRelated(model: ModelClass<Model>): boolean {
  return Boolean((model as WithRelated).selectRelated?.length);
}

/** Adds each declared related row (or null) to every row, in place, with one query per relation on `knex`. */
export async function embedRelated(model: ModelClass<Model>, rows: readonly Row[], knex: Knex): Promise<void> {
  const names = (model as WithRelated).selectRelated;
  if (!names?.length || rows.length === 0) return;
  const relations = model.getRelations();
  for (const name of names) {
    const relation = relations[name];
    if (!(relation instanceof Model.BelongsToOneRelation))
      throw new Error(`${model.name}.selectRelated: "${name}" is not a belongs-to-one relation`);
    const ownerColumn = (relation.ownerProp as unknown as { cols: string[] }).cols[0] as string;
    const relatedColumn = (relation.relatedProp as unknown as { cols: string[] }).cols[0] as string;
    const keys = [...new Set(rows.map((row) => row[ownerColumn]).filter((key) => key !== null && key !== undefined))];
    const related = keys.length
      ? ((await knex(relation.relatedModelClass.tableName).whereIn(relatedColumn, keys as never[])) as Row[])
      : [];
    const byKey = new Map(related.map((row) => [String(row[relatedColumn]), row]));
    for (const row of rows) {
      const key = row[ownerColumn];
      (row as Row)[name] = key === null || key === undefined ? null : (byKey.get(String(key)) ?? null);
    }
  }
}
