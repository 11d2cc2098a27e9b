/**
 * Serializers: declared fields turn rows into JSON and validate input with DRF's messages.
 */
import { ValidationError, type FieldErrors } from '../errors.js';
import { Field, FieldError, UniqueCheck, pythonTypeName, type ValidationContext } from './fields.js';

export type Row = Record<string, unknown>;

export interface ValidateOptions extends ValidationContext {
  /** Partial update (`patch`): absent fields are not required. */
  partial?: boolean;
}

interface CompiledField {
  name: string;
  source: string;
  field: Field;
  plain: boolean;
}

/**
 * A serializer class declares `static fields` (and optionally `static uniqueChecks`). Instances are
 * stateless and shared: `toRepresentation` and `validate` are all a consumer or resolver needs.
 */
export class Serializer {
  /** The fields, in output order. */
  static fields: Record<string, Field> = {};
  /** Database uniqueness checks by field name. */
  static uniqueChecks: Record<string, UniqueCheck> = {};

  private readonly compiled: CompiledField[];
  private readonly uniqueChecks: Record<string, UniqueCheck>;
  private readonly writable: CompiledField[];

  constructor() {
    const ctor = this.constructor as typeof Serializer;
    this.compiled = Object.entries(ctor.fields).map(([name, field]) => ({
      name,
      source: field.source ?? name,
      field,
      plain: field.isPlain,
    }));
    this.writable = this.compiled.filter((entry) => !entry.field.readOnly);
    this.uniqueChecks = ctor.uniqueChecks;
  }

  /** The output field names, in order. */
  get fieldNames(): string[] {
    return this.compiled.map((entry) => entry.name);
  }

  /** The row attribute behind an output field name (e.g. `pk` → `id`). */
  sourceOf(name: string): string | undefined {
    return this.compiled.find((entry) => entry.name === name)?.source;
  }

  /** Row → JSON object, fields in declaration order. */
  toRepresentation(row: Row): Row {
    const out: Row = {};
    for (const entry of this.compiled) {
      const value = row[entry.source];
      out[entry.name] = entry.plain ? (value === undefined ? null : value) : entry.field.toRepresentation(value);
    }
    return out;
  }

  /**
   * Input JSON → row attributes to write. Throws ValidationError with DRF's field map; `data` null or
   * absent and non-objects get DRF's `non_field_errors` messages.
   */
  async validate(data: unknown, options: ValidateOptions = {}): Promise<Row> {
    if (data === null || data === undefined) {
      throw new ValidationError({ non_field_errors: ['No data provided'] });
    }
    if (typeof data !== 'object' || Array.isArray(data)) {
      throw new ValidationError({
        non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonTypeName(data)}.`],
      });
    }
    const input = data as Row;
    const errors: FieldErrors = {};
    const values: Row = {};
    const checked: Array<[CompiledField, unknown]> = [];
    for (const entry of this.writable) {
      const { field } = entry;
      if (!Object.prototype.hasOwnProperty.call(input, entry.name)) {
        if (options.partial) continue;
        if (field.required) errors[entry.name] = [Field.messages.required];
        // A default fills in a new row only: a full update leaves an omitted optional field as it
        // is, as DRF's ModelSerializer does.
        else if (field.hasDefault && !options.instance) values[entry.source] = field.defaultValue;
        continue;
      }
      const raw = input[entry.name];
      if (raw === null) {
        if (field.allowNull) values[entry.source] = null;
        else errors[entry.name] = [Field.messages.null];
        continue;
      }
      try {
        const value = field.toInternal(raw);
        values[entry.source] = value;
        checked.push([entry, value]);
      } catch (error) {
        if (error instanceof FieldError) errors[entry.name] = error.messages;
        else throw error;
      }
    }
    // Field-level database checks (foreign keys) run for every field that parsed, as DRF's
    // to_internal_value does; uniqueness is a serializer-level validator, run only on clean input.
    for (const [entry, value] of checked) {
      await this.runCheck(errors, entry.name, () => entry.field.validateAsync(value, options));
    }
    if (Object.keys(errors).length === 0) {
      for (const [entry, value] of checked) {
        const unique = this.uniqueChecks[entry.name];
        if (unique) await this.runCheck(errors, entry.name, () => unique.check(value, options));
      }
    }
    if (Object.keys(errors).length) throw new ValidationError(errors);
    return this.validateObject(values, options);
  }

  private async runCheck(errors: FieldErrors, name: string, check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (error) {
      if (error instanceof FieldError) errors[name] = error.messages;
      else throw error;
    }
  }

  /** DRF's `validate(attrs)`: override for checks across fields; throw ValidationError to refuse. */
  validateObject(values: Row, _options: ValidateOptions): Row | Promise<Row> {
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
