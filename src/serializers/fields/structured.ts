/**
 * Composite fields (DRF 3.15): ListField and DictField with a child field, and JSONField. Lists and
 * dicts are stored as JSON (Objection writes a jsonSchema `array`/`object` property as JSON text);
 * the text SQLite gives back is decoded for output, PostgreSQL's `jsonb` arrives decoded already.
 */
import type { ErrorDetail } from '../../errors.js';
import { ValidationError } from '../../errors.js';
import { Field, FieldError, pythonTypeName, type BoundField, type FieldOptions, type ValidationContext } from './base.js';
import { parseJsonList } from './choices.js';

/** The detail a child's failure contributes (its messages, or its own nested detail). */
function childDetail(error: unknown): ErrorDetail {
  if (error instanceof FieldError) return error.messages;
  if (error instanceof ValidationError) return error.messages ?? error.fields;
  throw error;
}

/** A JSON value stored as text, decoded; the text itself when it is not JSON. */
function decoded(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export interface ListFieldOptions<C extends Field = Field> extends FieldOptions {
  /** The field each item is validated and shown with (default: any value, unchecked). */
  child?: C;
  /** `[]` is accepted (default true). */
  allowEmpty?: boolean;
  minLength?: number;
  maxLength?: number;
}

/** The child every item of a ListField or DictField passes through when none is given: anything, nulls and blanks too. */
class UncheckedField extends Field {
  constructor() {
    super({ allowNull: true });
  }
}

/** DRF's ListField: a list whose items each pass the child field; item errors are keyed by index (`{"1": [...]}`). */
export class ListField<const O extends ListFieldOptions = ListFieldOptions> extends Field<Array<ChildType<O>>, O> {
  readonly child: Field;

  static override defaultErrorMessages: Record<string, string> = {
    not_a_list: 'Expected a list of items but got type "{input_type}".',
    empty: 'This list may not be empty.',
    min_length: 'Ensure this field has at least {min_length} elements.',
    max_length: 'Ensure this field has no more than {max_length} elements.',
  };

  constructor(options: O = {} as O) {
    super(options);
    this.child = options.child ?? new UncheckedField();
    if (this.child.source !== undefined) throw new Error('The `source` argument is not meaningful when applied to a `child=` field.');
  }

  override runValidation(value: unknown, context?: ValidationContext): unknown {
    if (value === null) return super.runValidation(value, context);
    if (!Array.isArray(value)) this.fail('not_a_list', { input_type: pythonTypeName(value) });
    if (value.length === 0 && this.options.allowEmpty === false) this.fail('empty');
    const items: unknown[] = [];
    const errors: Record<string, ErrorDetail> = {};
    value.forEach((item, index) => {
      try {
        items.push(this.child.runValidation(item, context));
      } catch (error) {
        errors[index] = childDetail(error);
      }
    });
    if (Object.keys(errors).length) throw new FieldError(errors);
    const messages: string[] = [];
    const { minLength, maxLength } = this.options;
    if (maxLength !== undefined && items.length > maxLength) messages.push(this.message('max_length', { max_length: maxLength }));
    if (minLength !== undefined && items.length < minLength) messages.push(this.message('min_length', { min_length: minLength }));
    if (messages.length) throw new FieldError(messages);
    return items;
  }

  override toInternal(value: unknown): unknown {
    return this.runValidation(value);
  }

  override runValidators(value: unknown, context: ValidationContext, bound: BoundField): void | Promise<void> {
    if (this.child.validators.length === 0) return super.runValidators(value, context, bound);
    return (async () => {
      const errors: Record<string, ErrorDetail> = {};
      const items = value as unknown[];
      for (let index = 0; index < items.length; index++) {
        if (items[index] === null) continue;
        try {
          await this.child.runValidators(items[index], context, bound);
        } catch (error) {
          errors[index] = childDetail(error);
        }
      }
      if (Object.keys(errors).length) throw new FieldError(errors);
      await super.runValidators(value, context, bound);
    })();
  }

  override toRepresentation(value: unknown): unknown {
    const items = typeof value === 'string' ? parseJsonList(value) : value;
    if (!Array.isArray(items)) return value;
    return items.map((item) => (item === null || item === undefined ? null : this.child.toRepresentation(item)));
  }
}

export interface DictFieldOptions<C extends Field = Field> extends FieldOptions {
  /** The field each value is validated and shown with (default: any value, unchecked). */
  child?: C;
  /** `{}` is accepted (default true). */
  allowEmpty?: boolean;
}

/** DRF's DictField: an object whose values each pass the child field; errors are keyed by key. */
export class DictField<const O extends DictFieldOptions = DictFieldOptions> extends Field<Record<string, ChildType<O>>, O> {
  readonly child: Field;

  static override defaultErrorMessages: Record<string, string> = {
    not_a_dict: 'Expected a dictionary of items but got type "{input_type}".',
    empty: 'This dictionary may not be empty.',
  };

  constructor(options: O = {} as O) {
    super(options);
    this.child = options.child ?? new UncheckedField();
    if (this.child.source !== undefined) throw new Error('The `source` argument is not meaningful when applied to a `child=` field.');
  }

  override runValidation(value: unknown, context?: ValidationContext): unknown {
    if (value === null) return super.runValidation(value, context);
    if (typeof value !== 'object' || Array.isArray(value)) this.fail('not_a_dict', { input_type: pythonTypeName(value) });
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && this.options.allowEmpty === false) this.fail('empty');
    const result: Record<string, unknown> = {};
    const errors: Record<string, ErrorDetail> = {};
    for (const [key, item] of entries) {
      try {
        Object.defineProperty(result, key, {
          value: this.child.runValidation(item, context),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } catch (error) {
        errors[key] = childDetail(error);
      }
    }
    if (Object.keys(errors).length) throw new FieldError(errors);
    return result;
  }

  override toInternal(value: unknown): unknown {
    return this.runValidation(value);
  }

  override toRepresentation(value: unknown): unknown {
    const object = decoded(value);
    if (object === null || typeof object !== 'object' || Array.isArray(object)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(object as Record<string, unknown>)) {
      out[key] = item === null || item === undefined ? null : this.child.toRepresentation(item);
    }
    return out;
  }
}

export interface JSONFieldOptions extends FieldOptions {
  /** Input is JSON text and output is JSON text (DRF's `binary`). */
  binary?: boolean;
}

/** DRF's JSONField: any JSON value. Stored as JSON text; text read back from the database is decoded for output. */
export class JSONField<const O extends JSONFieldOptions = JSONFieldOptions> extends Field<unknown, O> {
  static override defaultErrorMessages: Record<string, string> = { invalid: 'Value must be valid JSON.' };

  override toInternal(value: unknown): unknown {
    if (!this.options.binary) return value;
    if (typeof value !== 'string') this.fail('invalid');
    try {
      return JSON.parse(value);
    } catch {
      this.fail('invalid');
    }
  }

  override toRepresentation(value: unknown): unknown {
    const json = decoded(value);
    return this.options.binary ? JSON.stringify(json) : json;
  }
}

/** The JSON type of a ListField's or DictField's child. */
export type ChildType<O> = O extends { child: { readonly $type: infer T; readonly options: infer CO } }
  ? CO extends { allowNull: true }
    ? T | null
    : T
  : unknown;
