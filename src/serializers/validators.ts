/**
 * Validators that ask the database (DRF 3.15 `validators.py`): UniqueValidator on a field,
 * UniqueTogetherValidator on a serializer; and UniqueCheck, the older serializer-level form.
 */
import type { Model, ModelClass, QueryBuilder } from 'objection';
import { ValidationError } from '../errors.js';
import { FieldError, type BoundField, type ValidationContext } from './fields/base.js';
import type { Row } from './row.js';

type AnyQuery = QueryBuilder<Model, Model[]>;

/** The rows a uniqueness check looks among: a model (all its rows) or a function giving a fresh query. */
export type Queryset = ModelClass<Model> | (() => AnyQuery);

function queryOf(queryset: Queryset, context: ValidationContext): AnyQuery {
  const isModel = typeof (queryset as ModelClass<Model>).query === 'function';
  const query = isModel ? ((queryset as ModelClass<Model>).query() as AnyQuery) : (queryset as () => AnyQuery)();
  return (context.trx ? query.transacting(context.trx as never) : query) as AnyQuery;
}

/** Leaves the row being updated out of a uniqueness query (DRF's `exclude_current_instance`). */
function excludingInstance(query: AnyQuery, context: ValidationContext): AnyQuery {
  const idColumn = query.modelClass().idColumn as string;
  const table = query.modelClass().tableName;
  const id = context.instance?.[idColumn];
  return (id !== undefined && id !== null ? query.whereNot(`${table}.${idColumn}`, id as never) : query) as AnyQuery;
}

async function exists(query: AnyQuery): Promise<boolean> {
  const model = query.modelClass();
  return Boolean(await query.select(`${model.tableName}.${model.idColumn as string}`).first());
}

export interface UniqueValidatorOptions {
  queryset: Queryset;
  /** Default DRF's `This field must be unique.`; ModelSerializer's is `<model> with this <field> already exists.`. */
  message?: string;
  /** `exact` (default) or `iexact` (case-insensitive). */
  lookup?: 'exact' | 'iexact';
}

/** DRF's UniqueValidator: no other row of the queryset has this value in the field's column. */
export class UniqueValidator {
  readonly message: string;
  constructor(readonly options: UniqueValidatorOptions) {
    this.message = options.message ?? 'This field must be unique.';
  }

  /** A field validator (pass the instance in `validators: [...]`). */
  readonly validate = async (value: unknown, context: ValidationContext, field: BoundField): Promise<void> => {
    const column = field.source.split('.').at(-1) as string;
    let query = queryOf(this.options.queryset, context);
    const qualified = `${query.modelClass().tableName}.${column}`;
    query = (
      this.options.lookup === 'iexact'
        ? query.whereRaw('lower(??) = lower(?)', [qualified, value as string])
        : query.where(qualified, value as never)
    ) as AnyQuery;
    if (await exists(excludingInstance(query, context))) throw new FieldError([this.message]);
  };
}

/** What a serializer-level validator receives besides the values: the call's context and the serializer's fields. */
export interface SerializerValidationContext extends ValidationContext {
  /** The row attribute behind a field name. */
  sourceOf(name: string): string | undefined;
}

/** A serializer-level validator (DRF's `Meta.validators`): throws ValidationError to refuse the values. */
export type SerializerValidator =
  | ((values: Row, context: SerializerValidationContext) => void | Promise<void>)
  | { validate(values: Row, context: SerializerValidationContext): void | Promise<void> };

export interface UniqueTogetherValidatorOptions {
  queryset: Queryset;
  /** The field names that together must be unique. */
  fields: readonly string[];
  /** Default DRF's `The fields {field_names} must make a unique set.`. */
  message?: string;
}

/**
 * DRF's UniqueTogetherValidator: on create every named field is required; a row with the same values
 * is `non_field_errors: ["The fields a, b must make a unique set."]`. A null value skips the check,
 * and an update that changes none of the fields too.
 */
export class UniqueTogetherValidator {
  constructor(readonly options: UniqueTogetherValidatorOptions) {}

  async validate(values: Row, context: SerializerValidationContext): Promise<void> {
    const { fields } = this.options;
    const sources = fields.map((name) => context.sourceOf(name) ?? name);
    const instance = context.instance ?? undefined;
    if (!instance) {
      const missing: Record<string, string[]> = {};
      fields.forEach((name, index) => {
        if (!((sources[index] as string) in values)) missing[name] = ['This field is required.'];
      });
      if (Object.keys(missing).length) throw new ValidationError(missing);
    }
    const lookup: Row = {};
    sources.forEach((source) => {
      lookup[source] = source in values ? values[source] : instance?.[source];
    });
    const checked = instance ? sources.filter((source) => source in values && values[source] !== instance[source]) : sources;
    if (checked.length === 0 || checked.some((source) => lookup[source] === null || lookup[source] === undefined)) return;
    let query = queryOf(this.options.queryset, context);
    const table = query.modelClass().tableName;
    for (const source of sources) query = query.where(`${table}.${source}`, lookup[source] as never) as AnyQuery;
    if (await exists(excludingInstance(query, context))) {
      const template = this.options.message ?? 'The fields {field_names} must make a unique set.';
      throw new ValidationError(template.replace('{field_names}', fields.join(', ')));
    }
  }
}

/** A database uniqueness check by column with its own message; run once every field is valid (see `Serializer.uniqueChecks`). */
export class UniqueCheck {
  constructor(
    readonly model: () => ModelClass<Model>,
    readonly column: string,
    readonly message: string,
  ) {}

  async check(value: unknown, context: ValidationContext): Promise<void> {
    const model = this.model();
    const query = model
      .query(context.trx)
      .where(this.column, value as string)
      .select(model.idColumn as string)
      .first();
    const idColumn = model.idColumn as string;
    if (context.instance && context.instance[idColumn] !== undefined) {
      query.whereNot(idColumn, context.instance[idColumn] as number);
    }
    if (await query) throw new FieldError([this.message]);
  }
}
