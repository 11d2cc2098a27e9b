/**
 * Related rows by primary key (DRF 3.15 `PrimaryKeyRelatedField`), checked against the database.
 * Nested representations (`school = SchoolSerializer(read_only=True)`) are serializers used as
 * fields: see serializer.ts.
 */
import type { Model, ModelClass } from 'objection';
import { Field, FieldError, pythonTypeName, type BoundField, type FieldOptions, type ValidationContext } from './base.js';

/**
 * The range of an `integer` column (SQLite's and PostgreSQL's `integer`, what knex's `increments` makes),
 * which Django's IntegerField enforces too: values outside it are refused before they reach the database.
 */
export const INTEGER_RANGE = { min: -2147483648, max: 2147483647 } as const;

export interface PrimaryKeyRelatedFieldOptions extends FieldOptions {
  /** The related primary key's range; default INTEGER_RANGE (set it for `bigIncrements` keys). */
  minValue?: number;
  maxValue?: number;
  /** A field the key is read and shown with, for keys that are not integers (DRF's `pk_field`: `new UUIDField()`). */
  pkField?: Field;
}

/** A foreign key given by the related row's primary key, checked against the database. */
export class PrimaryKeyRelatedField<const O extends PrimaryKeyRelatedFieldOptions = PrimaryKeyRelatedFieldOptions> extends Field<
  O extends { pkField: { readonly $type: infer K } } ? K : number,
  O
> {
  readonly minValue: number;
  readonly maxValue: number;

  static override defaultErrorMessages: Record<string, string> = {
    required: 'This field is required.',
    does_not_exist: 'Invalid pk "{pk_value}" - object does not exist.',
    incorrect_type: 'Incorrect type. Expected pk value, received {data_type}.',
  };

  constructor(
    readonly relatedModel: () => ModelClass<Model>,
    options: O = {} as O,
  ) {
    super(options);
    this.minValue = options.minValue ?? INTEGER_RANGE.min;
    this.maxValue = options.maxValue ?? INTEGER_RANGE.max;
  }

  override toInternal(value: unknown): unknown {
    const { pkField } = this.options;
    if (pkField) {
      try {
        return pkField.toInternal(value);
      } catch (error) {
        if (error instanceof FieldError) this.fail('incorrect_type', { data_type: pythonTypeName(value) });
        throw error;
      }
    }
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return parseInt(value, 10);
    this.fail('incorrect_type', { data_type: pythonTypeName(value) });
  }

  override toRepresentation(value: unknown): unknown {
    return this.options.pkField ? this.options.pkField.toRepresentation(value) : value;
  }

  /** An integer key is shown as it is: serializing skips the call. */
  override get isPlain(): boolean {
    return !this.options.pkField;
  }

  override async runValidators(value: unknown, context: ValidationContext, bound: BoundField): Promise<void> {
    const missing = () => this.fail('does_not_exist', { pk_value: String(value) });
    // A key the column cannot hold names no row; asking PostgreSQL would fail the whole transaction.
    if (!this.options.pkField && (typeof value !== 'number' || value < this.minValue || value > this.maxValue)) missing();
    const model = this.relatedModel();
    const found = await model
      .query(context.trx)
      .findById(value as number)
      .select(model.idColumn as string);
    if (!found) missing();
    await super.runValidators(value, context, bound);
  }
}
