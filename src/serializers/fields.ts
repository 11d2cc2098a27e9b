/**
 * Serializer fields with DRF's validation messages, so DCRF clients see the words they already know.
 */
import type { Model, ModelClass, TransactionOrKnex } from 'objection';

/** Thrown by a field's `toInternal`; the serializer gathers these into one ValidationError. */
export class FieldError extends Error {
  constructor(readonly messages: string[]) {
    super(messages.join(' '));
  }
}

export interface FieldOptions {
  /** The row attribute this field reads and writes; defaults to the field's own name. */
  source?: string;
  /** Shown in output, ignored in input. */
  readOnly?: boolean;
  /** Must be present on create and full update (DRF: `required`); defaults to true unless `default` is set or readOnly. */
  required?: boolean;
  /** `null` is an accepted value. */
  allowNull?: boolean;
  /** Used on create when the key is absent. */
  default?: unknown;
}

/** What a field may need to validate against the database (foreign keys, unique values). */
export interface ValidationContext {
  trx?: TransactionOrKnex;
  /** The row being updated, so a unique check can skip it. */
  instance?: Record<string, unknown> | null;
}

const MESSAGES = {
  required: 'This field is required.',
  null: 'This field may not be null.',
};

/** Python's name for a JSON value's type, as DRF prints it. */
export function pythonTypeName(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  switch (typeof value) {
    case 'string':
      return 'str';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    case 'object':
      return 'dict';
    default:
      return typeof value;
  }
}

/** A serializer field: converts between a row attribute and its JSON form. */
export class Field {
  source: string | undefined;
  readonly readOnly: boolean;
  readonly required: boolean;
  readonly allowNull: boolean;
  readonly hasDefault: boolean;
  readonly defaultValue: unknown;

  constructor(options: FieldOptions = {}) {
    this.source = options.source;
    this.readOnly = options.readOnly ?? false;
    this.hasDefault = 'default' in options;
    this.defaultValue = options.default;
    this.required = options.required ?? (!this.readOnly && !this.hasDefault);
    this.allowNull = options.allowNull ?? false;
  }

  static readonly messages = MESSAGES;

  /** Row value → JSON value. The identity for most fields. */
  toRepresentation(value: unknown): unknown {
    return value;
  }

  /** JSON value → row value; throws FieldError with DRF's messages. */
  toInternal(value: unknown): unknown {
    return value;
  }

  /** Checks that need the database (foreign keys, uniqueness); runs after every toInternal passed. */
  async validateAsync(_value: unknown, _context: ValidationContext): Promise<void> {}

  /** True when toRepresentation is the identity, so serializing can skip the call. */
  get isPlain(): boolean {
    return this.toRepresentation === Field.prototype.toRepresentation;
  }
}

export interface CharFieldOptions extends FieldOptions {
  maxLength?: number;
  minLength?: number;
  allowBlank?: boolean;
  trimWhitespace?: boolean;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** DRF's CharField: strings (numbers are accepted and turned into strings, as DRF does). */
export class CharField extends Field {
  readonly maxLength: number | undefined;
  readonly minLength: number | undefined;
  readonly allowBlank: boolean;
  readonly trimWhitespace: boolean;

  constructor(options: CharFieldOptions = {}) {
    super(options);
    this.maxLength = options.maxLength;
    this.minLength = options.minLength;
    this.allowBlank = options.allowBlank ?? false;
    this.trimWhitespace = options.trimWhitespace ?? true;
  }

  override toInternal(value: unknown): unknown {
    if (typeof value === 'boolean' || (typeof value !== 'string' && typeof value !== 'number')) {
      throw new FieldError(['Not a valid string.']);
    }
    // A lone surrogate has no UTF-8 form: SQLite and PostgreSQL would each store their own mangling of
    // it, so it becomes U+FFFD here and every database keeps the same text.
    let text = String(value).replace(LONE_SURROGATE, '\ufffd');
    if (this.trimWhitespace) text = text.trim();
    if (text === '') {
      if (!this.allowBlank) throw new FieldError(['This field may not be blank.']);
      return text;
    }
    const errors: string[] = [];
    if (this.maxLength !== undefined && [...text].length > this.maxLength) {
      errors.push(`Ensure this field has no more than ${this.maxLength} characters.`);
    }
    if (this.minLength !== undefined && [...text].length < this.minLength) {
      errors.push(`Ensure this field has at least ${this.minLength} characters.`);
    }
    // DRF's ProhibitNullCharactersValidator: PostgreSQL text cannot hold NUL, so refuse it everywhere.
    if (text.includes('\u0000')) errors.push('Null characters are not allowed.');
    if (errors.length) throw new FieldError(errors);
    return text;
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** DRF's EmailField. */
export class EmailField extends CharField {
  override toInternal(value: unknown): unknown {
    const text = super.toInternal(value) as string;
    if (text !== '' && !EMAIL.test(text)) throw new FieldError(['Enter a valid email address.']);
    return text;
  }
}

export interface IntegerFieldOptions extends FieldOptions {
  minValue?: number;
  maxValue?: number;
}

const INTEGER_TEXT = /^\s*[-+]?\d+(\.0*)?\s*$/;

/** DRF's IntegerField: integers, or strings holding one ("5", "5.0"). */
export class IntegerField extends Field {
  readonly minValue: number | undefined;
  readonly maxValue: number | undefined;

  constructor(options: IntegerFieldOptions = {}) {
    super(options);
    this.minValue = options.minValue;
    this.maxValue = options.maxValue;
  }

  override toInternal(value: unknown): unknown {
    let number: number;
    if (typeof value === 'number' && Number.isInteger(value)) number = value;
    else if (typeof value === 'string' && value.length <= 1000 && INTEGER_TEXT.test(value)) number = parseInt(value, 10);
    else throw new FieldError(['A valid integer is required.']);
    if (!Number.isSafeInteger(number)) throw new FieldError(['A valid integer is required.']);
    if (this.maxValue !== undefined && number > this.maxValue) {
      throw new FieldError([`Ensure this value is less than or equal to ${this.maxValue}.`]);
    }
    if (this.minValue !== undefined && number < this.minValue) {
      throw new FieldError([`Ensure this value is greater than or equal to ${this.minValue}.`]);
    }
    return number;
  }
}

const TRUE_VALUES = new Set<unknown>([true, 1, 'true', 'True', 'TRUE', '1', 'yes', 'on', 'y']);
const FALSE_VALUES = new Set<unknown>([false, 0, 'false', 'False', 'FALSE', '0', 'no', 'off', 'n']);

/** DRF's BooleanField. SQLite stores booleans as 0/1; the representation is always a JSON boolean. */
export class BooleanField extends Field {
  override toInternal(value: unknown): unknown {
    if (TRUE_VALUES.has(value)) return true;
    if (FALSE_VALUES.has(value)) return false;
    throw new FieldError(['Must be a valid boolean.']);
  }
  override toRepresentation(value: unknown): unknown {
    return value === null || value === undefined ? value : Boolean(value);
  }
}

/**
 * The range of an `integer` column (SQLite's and PostgreSQL's `integer`, what knex's `increments` makes),
 * which Django's IntegerField enforces too: values outside it are refused before they reach the database.
 */
export const INTEGER_RANGE = { min: -2147483648, max: 2147483647 } as const;

export interface PrimaryKeyRelatedFieldOptions extends FieldOptions {
  /** The related primary key's range; default INTEGER_RANGE (set it for `bigIncrements` keys). */
  minValue?: number;
  maxValue?: number;
}

/** A foreign key given by the related row's primary key, checked against the database. */
export class PrimaryKeyRelatedField extends Field {
  readonly minValue: number;
  readonly maxValue: number;

  constructor(
    readonly relatedModel: () => ModelClass<Model>,
    options: PrimaryKeyRelatedFieldOptions = {},
  ) {
    super(options);
    this.minValue = options.minValue ?? INTEGER_RANGE.min;
    this.maxValue = options.maxValue ?? INTEGER_RANGE.max;
  }

  override toInternal(value: unknown): unknown {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return parseInt(value, 10);
    throw new FieldError([`Incorrect type. Expected pk value, received ${pythonTypeName(value)}.`]);
  }

  override async validateAsync(value: unknown, context: ValidationContext): Promise<void> {
    if (value === null || value === undefined) return;
    const missing = new FieldError([`Invalid pk "${String(value)}" - object does not exist.`]);
    // A key the column cannot hold names no row; asking PostgreSQL would fail the whole transaction.
    if (typeof value !== 'number' || value < this.minValue || value > this.maxValue) throw missing;
    const model = this.relatedModel();
    const found = await model.query(context.trx).findById(value).select(model.idColumn as string);
    if (!found) throw missing;
  }
}

/** Wraps a field with a database uniqueness check, with DRF's "<model> with this <field> already exists.". */
export class UniqueCheck {
  constructor(
    readonly model: () => ModelClass<Model>,
    readonly column: string,
    readonly message: string,
  ) {}

  async check(value: unknown, context: ValidationContext): Promise<void> {
    const model = this.model();
    const query = model.query(context.trx).where(this.column, value as string).select(model.idColumn as string).first();
    const idColumn = model.idColumn as string;
    if (context.instance && context.instance[idColumn] !== undefined) {
      query.whereNot(idColumn, context.instance[idColumn] as number);
    }
    if (await query) throw new FieldError([this.message]);
  }
}
