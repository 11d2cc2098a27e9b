/**
 * The serializer field base: options DRF's fields share (`source`, `read_only`, `write_only`,
 * `required`, `default`, `allow_null`, `validators`, `error_messages`), DRF's message templates, and the
 * two directions a field converts in (row value → JSON, JSON → row value).
 */
import type { TransactionOrKnex } from 'objection';
import { ValidationError, type ErrorDetail } from '../../errors.js';
import type { ConnectionScope } from '../../scope.js';

/** Thrown by a field's `toInternal` or a validator; the serializer gathers these into one ValidationError. */
export class FieldError extends Error {
  constructor(readonly messages: ErrorDetail) {
    super(Array.isArray(messages) ? messages.join(' ') : 'invalid');
  }
}

/** What validation may need besides the input: the database, the row being updated, the caller. */
export interface ValidationContext {
  trx?: TransactionOrKnex;
  /** The row being updated (null or absent on create), so a unique check can skip it. */
  instance?: Record<string, unknown> | null;
  /** Partial update (`patch`): absent fields are not required and get no default. */
  partial?: boolean;
  /** The caller's connection scope: `CurrentUserDefault` reads its user. */
  scope?: ConnectionScope;
}

/** A field as a serializer holds it: its name in the input and output, and the row attribute behind it. */
export interface BoundField {
  name: string;
  source: string;
  field: Field;
}

/** A field validator function: throws FieldError or ValidationError to refuse a value. */
export type FieldValidatorFunction = (value: unknown, context: ValidationContext, field: BoundField) => void | Promise<void>;

/** A field validator (DRF's `validators=[...]`): a function, or an object with `validate` (`new UniqueValidator(...)`). */
export type FieldValidator = FieldValidatorFunction | { readonly validate: FieldValidatorFunction };

/** A default computed for each validation from its context (DRF's `requires_context` defaults). */
export abstract class ContextDefault {
  /** The default value, or SKIP to leave the field out of the validated data. */
  abstract resolve(context: ValidationContext): unknown;
}

/** Returned by a default to leave the field out (DRF's `SkipField`). */
export const SKIP: unique symbol = Symbol('skip');

export interface FieldOptions {
  /** The row attribute this field reads and writes: default its own name; dotted (`school.name`) reads nested objects; `*` is the whole row. */
  source?: string;
  /** Shown in output, ignored in input. */
  readOnly?: boolean;
  /** Read from input, never shown in output. */
  writeOnly?: boolean;
  /** Must be present on create and full update; default true unless `default` is set or the field is read-only. */
  required?: boolean;
  /** `null` is an accepted value. */
  allowNull?: boolean;
  /** Used when the key is absent on create and full update: a value, a function of the validation context, or a ContextDefault. */
  default?: unknown;
  /** More checks after the field's own (DRF's `validators`), in order; every failure's messages are kept. */
  validators?: readonly FieldValidator[];
  /** Replaces DRF's messages by key (`{ required: 'Give it a name.' }`), as DRF's `error_messages`. */
  errorMessages?: Record<string, string>;
}

/** Python's name for a JSON value's type, as DRF prints it. */
export function pythonTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
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

/** Python's `repr()` of a JSON value (strings quoted as Python quotes them). */
export function pythonRepr(value: unknown): string {
  if (typeof value === 'string') return value.includes("'") && !value.includes('"') ? `"${value}"` : `'${value.replace(/'/g, "\\'")}'`;
  return pythonStr(value);
}

/** Python's `str()` of a JSON value: what DRF puts in `"{input}" is not a valid choice.`. */
export function pythonStr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(value).replace(/e([+-])(\d)$/, 'e$10$2');
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([key, item]) => `${pythonRepr(key)}: ${pythonRepr(item)}`)
      .join(', ')}}`;
  }
  return String(value);
}

/** Fills DRF's `{name}` placeholders. */
function format(template: string, params: Record<string, unknown> | undefined): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in params ? String(params[key]) : whole));
}

const BASE_MESSAGES = {
  required: 'This field is required.',
  null: 'This field may not be null.',
};

const messageCache = new WeakMap<object, Record<string, string>>();

/** A class's messages merged down its chain (subclasses override), as DRF collects `default_error_messages`. */
function classMessages(ctor: typeof Field): Record<string, string> {
  let messages = messageCache.get(ctor);
  if (!messages) {
    const chain: Array<typeof Field> = [];
    for (let current: any = ctor; current && current !== Function.prototype; current = Object.getPrototypeOf(current))
      chain.unshift(current);
    messages = {};
    for (const cls of chain) {
      if (Object.hasOwn(cls, 'defaultErrorMessages')) Object.assign(messages, cls.defaultErrorMessages);
    }
    messageCache.set(ctor, messages);
  }
  return messages;
}

/**
 * A serializer field: converts between a row attribute and its JSON form. `T` is the JSON type it shows
 * and accepts, `O` the options it was made with (so `Infer` can tell nullable, read-only and write-only fields).
 */
export class Field<T = unknown, O extends FieldOptions = any> {
  /** The JSON type of this field's values (type-level only, for `Infer`). */
  declare readonly $type: T;
  readonly options: O;
  source: string | undefined;
  readonly readOnly: boolean;
  readonly writeOnly: boolean;
  readonly required: boolean;
  readonly allowNull: boolean;
  readonly hasDefault: boolean;
  readonly defaultValue: unknown;
  readonly validators: readonly FieldValidator[];
  private readonly messageOverrides: Record<string, string> | undefined;

  /** DRF's messages for this class, by key (subclasses add theirs). */
  static defaultErrorMessages: Record<string, string> = BASE_MESSAGES;
  /** The messages every field shares. */
  static readonly messages = BASE_MESSAGES;

  constructor(options: O = {} as O) {
    this.options = options;
    this.source = options.source;
    this.readOnly = options.readOnly ?? false;
    this.writeOnly = options.writeOnly ?? false;
    this.hasDefault = 'default' in options && options.default !== undefined;
    this.defaultValue = options.default;
    this.required = options.required ?? (!this.readOnly && !this.hasDefault);
    this.allowNull = options.allowNull ?? false;
    this.validators = options.validators ?? [];
    this.messageOverrides = options.errorMessages;
    if (this.readOnly && this.writeOnly) throw new Error('May not set both `readOnly` and `writeOnly`');
    if (this.readOnly && options.required) throw new Error('May not set both `readOnly` and `required`');
  }

  /** The message for `key` with its placeholders filled (DRF's `error_messages[key].format(...)`). */
  message(key: string, params?: Record<string, unknown>): string {
    const template = this.messageOverrides?.[key] ?? classMessages(this.constructor as typeof Field)[key];
    if (template === undefined) throw new Error(`${this.constructor.name} has no error message "${key}"`);
    return format(template, params);
  }

  /** Throws the FieldError for `key` (DRF's `self.fail(key, **params)`). */
  fail(key: string, params?: Record<string, unknown>): never {
    throw new FieldError([this.message(key, params)]);
  }

  /** Row value → JSON value (never called with null or undefined: those are shown as null). The identity here. */
  toRepresentation(value: unknown): unknown {
    return value;
  }

  /** JSON value → row value, with the field's own checks; throws FieldError with DRF's messages. */
  toInternal(value: unknown): unknown {
    return value;
  }

  /**
   * DRF's `run_validation` for a value that is present: `null` (allowed or not), then `toInternal`.
   * Lists and dicts call it for each child.
   */
  runValidation(value: unknown, _context?: ValidationContext): unknown {
    if (value === null) {
      if (!this.allowNull) this.fail('null');
      return null;
    }
    return this.toInternal(value);
  }

  /**
   * The `validators` option, in order, after `toInternal` passed (not for null). Every failing
   * validator's messages are kept. Returns a promise only when a validator is asynchronous.
   */
  runValidators(value: unknown, context: ValidationContext, bound: BoundField): void | Promise<void> {
    if (this.validators.length === 0) return;
    const messages: string[] = [];
    const pending: Array<Promise<void>> = [];
    for (const validator of this.validators) {
      try {
        const result = typeof validator === 'function' ? validator(value, context, bound) : validator.validate(value, context, bound);
        if (result && typeof (result as Promise<void>).then === 'function')
          pending.push((result as Promise<void>).catch((error) => collect(error, messages)));
      } catch (error) {
        collect(error, messages);
      }
    }
    if (pending.length === 0) {
      if (messages.length) throw new FieldError(messages);
      return;
    }
    return Promise.all(pending).then(() => {
      if (messages.length) throw new FieldError(messages);
    });
  }

  /** The default for an absent key, or SKIP. */
  getDefault(context: ValidationContext): unknown {
    const value = this.defaultValue;
    if (value instanceof ContextDefault) return value.resolve(context);
    if (typeof value === 'function') return (value as (context: ValidationContext) => unknown)(context);
    return value;
  }

  /** True when toRepresentation is the identity, so serializing can skip the call. */
  get isPlain(): boolean {
    return this.toRepresentation === Field.prototype.toRepresentation;
  }
}

/** Adds a failed validator's messages to `messages`; anything but a validation failure is rethrown. */
function collect(error: unknown, messages: string[]): void {
  if (error instanceof FieldError) {
    messages.push(...(Array.isArray(error.messages) ? (error.messages as string[]) : []));
    return;
  }
  if (error instanceof ValidationError) {
    messages.push(
      ...(error.messages ??
        Object.values(error.fields)
          .flat()
          .filter((item): item is string => typeof item === 'string')),
    );
    return;
  }
  throw error;
}
