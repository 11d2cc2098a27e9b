/**
 * Serializers: declared fields turn rows into JSON and validate input with DRF's messages, in DRF's
 * order: each writable field (its own checks, its validators, then `validate_<field>()`), then the
 * serializer's `validators`, then `validate()`. A serializer is also a field: nested
 * (`new SchoolSerializer({ readOnly: true })`, `many: true`) it shows and validates a related object.
 */
import { NON_FIELD_ERRORS, ValidationError, type ErrorDetail, type FieldErrors } from '../errors.js';
import { Field, FieldError, SKIP, pythonTypeName, type BoundField, type FieldOptions, type ValidationContext } from './fields/base.js';
import { HiddenField, SerializerMethodField } from './fields/misc.js';
import type { Infer } from './infer.js';
import type { Row } from './row.js';
import type { UniqueCheck, SerializerValidationContext, SerializerValidator } from './validators.js';

export type { Row } from './row.js';

/** What `runValidation` takes besides the data (kept under its older name). */
export type ValidateOptions = ValidationContext;

export interface SerializerOptions extends FieldOptions {
  /** A list of objects (DRF's `many=True`). */
  many?: boolean;
  /** With `many`: `[]` is accepted (default true). */
  allowEmpty?: boolean;
  /** With `many`: bounds on the number of items. */
  minLength?: number;
  maxLength?: number;
}

interface CompiledField extends BoundField {
  /** Reads the value from the row when it is not `row[source]` (dotted sources, `*`, method fields). */
  read: ((row: Row) => unknown) | undefined;
  /** The value is shown as it is (no toRepresentation call). */
  plain: boolean;
  /** The attribute path a validated value is written to ([] for `*`); undefined for a plain source. */
  path: string[] | undefined;
  /** The serializer's `validate_<name>` method, if it has one. */
  hook: string | undefined;
  /** A HiddenField: input is never read, the default always applies. */
  hidden: boolean;
}

const LIST_MESSAGES = {
  not_a_list: 'Expected a list of items but got type "{input_type}".',
  empty: 'This list may not be empty.',
  max_length: 'Ensure this field has no more than {max_length} elements.',
  min_length: 'Ensure this field has at least {min_length} elements.',
};

function readPath(row: Row, path: readonly string[]): unknown {
  let value: unknown = row;
  for (const key of path) {
    if (value === null || value === undefined || typeof value !== 'object') return null;
    value = (value as Row)[key];
  }
  return value;
}

function writePath(target: Row, path: readonly string[], value: unknown): void {
  if (path.length === 0) {
    if (value && typeof value === 'object') Object.assign(target, value);
    return;
  }
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!node[key] || typeof node[key] !== 'object') node[key] = {};
    node = node[key] as Row;
  }
  node[path[path.length - 1] as string] = value;
}

/** A failure's detail for one field (FieldError messages, or a ValidationError raised as DRF does). */
function detailOf(error: unknown): ErrorDetail {
  if (error instanceof FieldError) return error.messages;
  if (error instanceof ValidationError) return error.messages ?? error.fields;
  throw error;
}

/**
 * A serializer class declares `static fields` (in output order) and optionally `static validators`.
 * Instances are stateless and shared: `toRepresentation` and `runValidation` are all a consumer or
 * resolver needs. DRF's hooks are methods: `validate_<field>(value, context)`, `validate(values, context)`,
 * and `get_<field>(row)` for a SerializerMethodField.
 */
export class Serializer<const O extends SerializerOptions = SerializerOptions> extends Field<Row, O> {
  /** The fields, in output order. */
  static fields: Record<string, Field> = {};
  /** Serializer-level validators (DRF's `Meta.validators`), e.g. `new UniqueTogetherValidator(...)`. */
  static validators: readonly SerializerValidator[] = [];
  /** Database uniqueness checks by field name, run once every field is valid (the older form of UniqueValidator). */
  static uniqueChecks: Record<string, UniqueCheck> = {};

  static override defaultErrorMessages: Record<string, string> = {
    invalid: 'Invalid data. Expected a dictionary, but got {datatype}.',
    ...LIST_MESSAGES,
  };

  /** With `many`: shows and validates a list of objects. */
  readonly many: boolean;
  private readonly readable: CompiledField[];
  private readonly writable: CompiledField[];
  private readonly all: CompiledField[];
  private readonly uniqueChecks: Record<string, UniqueCheck>;
  private readonly objectValidators: readonly SerializerValidator[];
  /** With `many`: the same serializer for one item (made on first use). */
  private single: Serializer | undefined;

  constructor(options: O = {} as O) {
    super(options);
    this.many = options.many ?? false;
    const ctor = this.constructor as typeof Serializer;
    this.all = Object.entries(ctor.fields).map(([name, field]) => this.compile(name, field));
    this.readable = this.all.filter((entry) => !entry.field.writeOnly);
    this.writable = this.all.filter((entry) => !entry.field.readOnly);
    this.uniqueChecks = ctor.uniqueChecks;
    this.objectValidators = ctor.validators;
  }

  /** A nested use of this serializer, typed for `Infer` (`SchoolSerializer.field({ readOnly: true })`); the same as `new`. */
  static field<S extends new (options?: any) => Serializer, const FO extends SerializerOptions = {}>(
    this: S,
    options?: FO,
  ): Field<FO extends { many: true } ? Array<Infer<S>> : Infer<S>, FO> {
    return new this(options ?? {}) as unknown as Field<FO extends { many: true } ? Array<Infer<S>> : Infer<S>, FO>;
  }

  private compile(name: string, field: Field): CompiledField {
    const source = field.source ?? name;
    const self = this as unknown as Record<string, unknown>;
    let read: CompiledField['read'];
    let plain = field.isPlain;
    if (field instanceof SerializerMethodField) {
      const method = (field.options.methodName as string | undefined) ?? `get_${name}`;
      if (typeof self[method] !== 'function') throw new Error(`${this.constructor.name} has no method ${method}() for its field "${name}"`);
      read = (row) => (self[method] as (row: Row) => unknown).call(this, row);
      plain = true;
    } else if (source === '*') read = (row) => row;
    else if (source.includes('.')) {
      const path = source.split('.');
      read = (row) => readPath(row, path);
    }
    const hook = typeof self[`validate_${name}`] === 'function' ? `validate_${name}` : undefined;
    const path = source === '*' ? [] : source.includes('.') ? source.split('.') : undefined;
    const hidden = field instanceof HiddenField;
    return { name, source, field, read, plain, path, hook, hidden };
  }

  /** The output field names, in order. */
  get fieldNames(): string[] {
    return this.readable.map((entry) => entry.name);
  }

  /** The row attribute behind a field name (e.g. `pk` → `id`). */
  sourceOf(name: string): string | undefined {
    return this.all.find((entry) => entry.name === name)?.source;
  }

  /** Row → JSON object, fields in declaration order (with `many`, a list of rows → a list). */
  override toRepresentation(row: Row): Row {
    if (this.many) return this.representList(row) as unknown as Row;
    const out: Row = {};
    for (const entry of this.readable) {
      const value = entry.read === undefined ? row[entry.source] : entry.read(row);
      out[entry.name] = entry.plain
        ? value === undefined
          ? null
          : value
        : value === null || value === undefined
          ? null
          : entry.field.toRepresentation(value);
    }
    return out;
  }

  private representList(value: unknown): unknown {
    const rows = typeof value === 'string' ? JSON.parse(value) : value;
    if (!Array.isArray(rows)) return [];
    const one = this.itemSerializer();
    return rows.map((row) => (row === null || row === undefined ? null : one.toRepresentation(row as Row)));
  }

  private itemSerializer(): Serializer {
    this.single ??= new (this.constructor as new () => Serializer)();
    return this.single;
  }

  /**
   * Input JSON → the row attributes to write (DRF's `run_validation`). Throws ValidationError with
   * DRF's field map; `null`/absent data and non-objects get DRF's `non_field_errors` messages.
   */
  override async runValidation(data: unknown, context: ValidationContext = {}): Promise<Row> {
    if (this.many) return (await this.validateList(data, context)) as unknown as Row;
    if (data === null || data === undefined) throw new ValidationError({ [NON_FIELD_ERRORS]: ['No data provided'] });
    if (typeof data !== 'object' || Array.isArray(data)) {
      throw new ValidationError({ [NON_FIELD_ERRORS]: [this.message('invalid', { datatype: pythonTypeName(data) })] });
    }
    const input = data as Row;
    const errors: FieldErrors = {};
    const values: Row = {};
    const checked: Array<[CompiledField, unknown]> = [];
    for (const entry of this.writable) {
      const value = await this.validateField(entry, input, context, errors);
      if (value === SKIP) continue;
      if (entry.path) writePath(values, entry.path, value);
      else values[entry.source] = value;
      checked.push([entry, value]);
    }
    // The older serializer-level uniqueness checks run only on clean input.
    if (Object.keys(errors).length === 0) {
      for (const [entry, value] of checked) {
        const unique = this.uniqueChecks[entry.name];
        if (!unique || value === null) continue;
        try {
          await unique.check(value, context);
        } catch (error) {
          errors[entry.name] = detailOf(error);
        }
      }
    }
    if (Object.keys(errors).length) throw new ValidationError(errors);
    return this.validateValues(values, context);
  }

  /** One field of the input: its value, SKIP when it is left out, or SKIP with its errors recorded. */
  private async validateField(entry: CompiledField, input: Row, context: ValidationContext, errors: FieldErrors): Promise<unknown> {
    const { field, name } = entry;
    let value: unknown;
    try {
      if (entry.hidden || !Object.hasOwn(input, name)) {
        if (context.partial) return SKIP;
        if (!entry.hidden && field.required) throw new FieldError([field.message('required')]);
        if (!field.hasDefault) return SKIP;
        value = field.getDefault(context);
        if (value === SKIP) return SKIP;
      } else {
        const raw = input[name];
        if (raw === null) {
          if (!field.allowNull) throw new FieldError([field.message('null')]);
          value = null;
        } else {
          value = field.runValidation(raw, context);
          if (value instanceof Promise) value = await value;
          if (value !== null) {
            const pending = field.runValidators(value, context, entry);
            if (pending) await pending;
          }
        }
      }
      if (entry.hook)
        value = await (this as unknown as Record<string, (value: unknown, context: ValidationContext) => unknown>)[entry.hook]!(
          value,
          context,
        );
      return value;
    } catch (error) {
      errors[name] = detailOf(error);
      return SKIP;
    }
  }

  /** The serializer's validators, then `validate()`; what they raise is about the whole input (DRF's `as_serializer_error`). */
  private async validateValues(values: Row, context: ValidationContext): Promise<Row> {
    try {
      if (this.objectValidators.length) {
        const objectContext: SerializerValidationContext = { ...context, sourceOf: (name) => this.sourceOf(name) };
        for (const validator of this.objectValidators) {
          await (typeof validator === 'function' ? validator(values, objectContext) : validator.validate(values, objectContext));
        }
      }
      return await this.validate(values, context);
    } catch (error) {
      if (error instanceof FieldError) {
        throw new ValidationError(Array.isArray(error.messages) ? { [NON_FIELD_ERRORS]: error.messages } : (error.messages as FieldErrors));
      }
      throw error;
    }
  }

  /** DRF's ListSerializer validation: a list of objects, each this serializer's; item errors in a list (`[{}, {"name": [...]}]`). */
  private async validateList(data: unknown, context: ValidationContext): Promise<Row[]> {
    const listError = (key: string, params?: Record<string, unknown>) =>
      new ValidationError({ [NON_FIELD_ERRORS]: [this.message(key, params)] });
    if (!Array.isArray(data)) throw listError('not_a_list', { input_type: pythonTypeName(data) });
    const { allowEmpty, maxLength, minLength } = this.options;
    if (allowEmpty === false && data.length === 0) throw listError('empty');
    if (maxLength !== undefined && data.length > maxLength) throw listError('max_length', { max_length: maxLength });
    if (minLength !== undefined && data.length < minLength) throw listError('min_length', { min_length: minLength });
    const one = this.itemSerializer();
    const results: Row[] = [];
    const errors: ErrorDetail[] = [];
    for (const item of data) {
      try {
        results.push(await one.runValidation(item, context));
        errors.push({});
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        errors.push(error.fields);
      }
    }
    if (errors.some((detail) => Object.keys(detail).length > 0)) throw new FieldError(errors);
    return results;
  }

  /**
   * DRF's `validate(attrs)`: checks across fields, after every field passed. Return the values (changed
   * or not); throw `new ValidationError('...')` for `non_field_errors`, or with a field map.
   */
  validate(values: Row, context: ValidationContext): Row | Promise<Row> {
    return this.validateObject(values, context);
  }

  /** The older name of `validate()`: overriding either works. */
  validateObject(values: Row, _context: ValidationContext): Row | Promise<Row> {
    return values;
  }
}

/** A serializer class, as consumers and resources name it. */
export type SerializerClass = new () => Serializer;

const instances = new WeakMap<SerializerClass, Serializer>();

/** The shared (stateless) instance of a serializer class. */
export function serializerInstance(cls: SerializerClass): Serializer {
  let instance = instances.get(cls);
  if (!instance) {
    instance = new cls();
    instances.set(cls, instance);
  }
  return instance;
}
