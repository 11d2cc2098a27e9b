/**
 * The other DRF 3.15 fields: BooleanField, UUIDField, ReadOnlyField, HiddenField,
 * SerializerMethodField; and the defaults that read the call's context, CurrentUserDefault and
 * CreateOnlyDefault.
 */
import { ContextDefault, Field, SKIP, type FieldOptions, type ValidationContext } from './base.js';

const TRUE_VALUES = new Set<unknown>(['t', 'y', 'yes', 'true', 'on', '1', 1, true]);
const FALSE_VALUES = new Set<unknown>(['f', 'n', 'no', 'false', 'off', '0', 0, false]);
const NULL_VALUES = new Set<unknown>(['null', '']);

const lowered = (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value);

/** DRF's BooleanField (`"yes"`, `"on"`, `"t"`, `1`... in any case). SQLite's 0/1 are shown as JSON booleans. */
export class BooleanField<const O extends FieldOptions = FieldOptions> extends Field<boolean, O> {
  static override defaultErrorMessages: Record<string, string> = { invalid: 'Must be a valid boolean.' };

  override toInternal(value: unknown): unknown {
    const key = lowered(value);
    if (TRUE_VALUES.has(key)) return true;
    if (FALSE_VALUES.has(key)) return false;
    if (this.allowNull && NULL_VALUES.has(key)) return null;
    this.fail('invalid');
  }

  override toRepresentation(value: unknown): unknown {
    const key = lowered(value);
    if (TRUE_VALUES.has(key)) return true;
    if (FALSE_VALUES.has(key)) return false;
    if (this.allowNull && NULL_VALUES.has(key)) return null;
    return Boolean(value);
  }
}

export interface UUIDFieldOptions extends FieldOptions {
  /** Output form: `hex_verbose` (default, `5ce0e9a5-5ffa-654b-cee0-1238041fb31a`), `hex`, `int` or `urn`. */
  format?: 'hex_verbose' | 'hex' | 'int' | 'urn';
}

/** Python's `uuid.UUID(hex=...)`: braces, a `urn:uuid:` prefix and hyphens anywhere are ignored; 32 hex digits remain. */
function uuidHex(text: string): string | undefined {
  const hex = text
    .replace(/^urn:uuid:/i, '')
    .replace(/^\{|\}$/g, '')
    .replace(/-/g, '');
  return /^[0-9a-f]{32}$/i.test(hex) ? hex.toLowerCase() : undefined;
}

const verbose = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

/** DRF's UUIDField. The row value is the canonical lower-case form (PostgreSQL `uuid` returns it as such). */
export class UUIDField<const O extends UUIDFieldOptions = UUIDFieldOptions> extends Field<string, O> {
  static override defaultErrorMessages: Record<string, string> = { invalid: 'Must be a valid UUID.' };

  constructor(options: O = {} as O) {
    super(options);
    const format = options.format ?? 'hex_verbose';
    if (!['hex_verbose', 'hex', 'int', 'urn'].includes(format)) {
      throw new Error('Invalid format for uuid representation. Must be one of "hex_verbose", "hex", "int", "urn"');
    }
  }

  override toInternal(value: unknown): unknown {
    let hex: string | undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) hex = value.toString(16).padStart(32, '0');
    else if (typeof value === 'string') hex = uuidHex(value);
    if (!hex) this.fail('invalid');
    return verbose(hex);
  }

  override toRepresentation(value: unknown): unknown {
    const hex = typeof value === 'string' ? uuidHex(value) : undefined;
    if (!hex) return value;
    switch (this.options.format) {
      case 'hex':
        return hex;
      case 'int':
        // Larger than a JS number holds exactly: its decimal text.
        return BigInt(`0x${hex}`).toString();
      case 'urn':
        return `urn:uuid:${verbose(hex)}`;
      default:
        return verbose(hex);
    }
  }
}

/** DRF's ReadOnlyField: shows the row value as it is, never written. */
export class ReadOnlyField<const O extends FieldOptions = FieldOptions> extends Field<unknown, O & { readOnly: true }> {
  constructor(options: O = {} as O) {
    super({ ...options, readOnly: true });
  }
}

/**
 * DRF's HiddenField: never read from input nor shown; its default (a value, a function of the validation
 * context, or a ContextDefault such as `new CurrentUserDefault()`) is written on create and full update.
 */
export class HiddenField<const O extends FieldOptions & { default: unknown } = FieldOptions & { default: unknown }> extends Field<
  unknown,
  O & { writeOnly: true }
> {
  constructor(options: O) {
    if (!('default' in options)) throw new Error('HiddenField: `default` is a required option.');
    super({ ...options, writeOnly: true });
  }
}

export interface SerializerMethodFieldOptions extends FieldOptions {
  /** The serializer method that gives the value from the row; default `get_<field name>`. */
  methodName?: string;
}

/** DRF's SerializerMethodField: read-only, its value is the serializer's `get_<name>(row)`. */
export class SerializerMethodField<T = unknown, const O extends SerializerMethodFieldOptions = SerializerMethodFieldOptions> extends Field<
  T,
  O & { readOnly: true }
> {
  constructor(options: O = {} as O) {
    super({ ...options, readOnly: true, source: '*' });
  }
}

/** DRF's CurrentUserDefault: the caller's user from the connection scope; its primary key unless `attribute` names another (null: the user object). */
export class CurrentUserDefault extends ContextDefault {
  constructor(private readonly options: { attribute?: string | null } = {}) {
    super();
  }

  resolve(context: ValidationContext): unknown {
    const user = context.scope?.user ?? null;
    const attribute = this.options.attribute === undefined ? 'id' : this.options.attribute;
    if (!user || attribute === null) return user;
    return user[attribute] ?? null;
  }
}

/** DRF's CreateOnlyDefault: the default on create; on an update the field is left out. */
export class CreateOnlyDefault extends ContextDefault {
  constructor(readonly value: unknown) {
    super();
  }

  resolve(context: ValidationContext): unknown {
    if (context.instance) return SKIP;
    const value = this.value;
    if (value instanceof ContextDefault) return value.resolve(context);
    return typeof value === 'function' ? (value as (context: ValidationContext) => unknown)(context) : value;
  }
}
