/**
 * Number fields (DRF 3.15): IntegerField, FloatField, DecimalField. Decimals stay exact text end to
 * end (decimal.ts): `"12.50"` in, `"12.50"` stored, `"12.50"` out.
 */
import { compareDecimals, formatDecimal, parseDecimal, precisionOf, quantize, toDecimal, type Decimal, type Rounding } from '../decimal.js';
import { Field, FieldError, type FieldOptions } from './base.js';

/** DRF's guard against huge numeric strings (`MAX_STRING_LENGTH`). */
const MAX_STRING_LENGTH = 1000;

const RANGE_MESSAGES = {
  max_value: 'Ensure this value is less than or equal to {max_value}.',
  min_value: 'Ensure this value is greater than or equal to {min_value}.',
  max_string_length: 'String value too large.',
};

export interface IntegerFieldOptions extends FieldOptions {
  minValue?: number;
  maxValue?: number;
}

const INTEGER_TEXT = /^\s*[-+]?\d+(\.0*)?\s*$/;

/** DRF's IntegerField: integers, or strings holding one (`"5"`, `"5.0"`); JS-unsafe integers are refused. */
export class IntegerField<const O extends IntegerFieldOptions = IntegerFieldOptions> extends Field<number, O> {
  readonly minValue: number | undefined;
  readonly maxValue: number | undefined;

  static override defaultErrorMessages: Record<string, string> = { invalid: 'A valid integer is required.', ...RANGE_MESSAGES };

  constructor(options: O = {} as O) {
    super(options);
    this.minValue = options.minValue;
    this.maxValue = options.maxValue;
  }

  override toInternal(value: unknown): unknown {
    if (typeof value === 'string' && value.length > MAX_STRING_LENGTH) this.fail('max_string_length');
    let number: number;
    if (typeof value === 'number' && Number.isInteger(value)) number = value;
    else if (typeof value === 'string' && INTEGER_TEXT.test(value)) number = parseInt(value, 10);
    else this.fail('invalid');
    if (!Number.isSafeInteger(number)) this.fail('invalid');
    const errors: string[] = [];
    if (this.maxValue !== undefined && number > this.maxValue) errors.push(this.message('max_value', { max_value: this.maxValue }));
    if (this.minValue !== undefined && number < this.minValue) errors.push(this.message('min_value', { min_value: this.minValue }));
    if (errors.length) throw new FieldError(errors);
    return number;
  }
}

export interface FloatFieldOptions extends FieldOptions {
  minValue?: number;
  maxValue?: number;
}

const FLOAT_TEXT = /^\s*[-+]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][-+]?\d+(?:_\d+)*)?\s*$/;

/**
 * DRF's FloatField: numbers and numeric strings (`"1.5"`, `"1e3"`; booleans count as 1 and 0, as
 * Python's `float()` has them). NaN and infinities are refused: JSON cannot carry them back out.
 */
export class FloatField<const O extends FloatFieldOptions = FloatFieldOptions> extends Field<number, O> {
  static override defaultErrorMessages: Record<string, string> = {
    invalid: 'A valid number is required.',
    ...RANGE_MESSAGES,
    overflow: 'Integer value too large to convert to float',
  };

  override toRepresentation(value: unknown): unknown {
    return typeof value === 'number' ? value : Number(value);
  }

  override toInternal(value: unknown): unknown {
    if (typeof value === 'string' && value.length > MAX_STRING_LENGTH) this.fail('max_string_length');
    let number: number;
    if (typeof value === 'boolean') number = value ? 1 : 0;
    else if (typeof value === 'number') {
      // A JSON integer too large for a double (JSON.parse gave Infinity): Python's OverflowError.
      if (!Number.isFinite(value)) this.fail('overflow');
      number = value;
    } else if (typeof value === 'string' && FLOAT_TEXT.test(value)) number = Number(value.replace(/_/g, ''));
    else this.fail('invalid');
    if (!Number.isFinite(number)) this.fail('invalid');
    const errors: string[] = [];
    const { maxValue, minValue } = this.options;
    if (maxValue !== undefined && number > maxValue) errors.push(this.message('max_value', { max_value: maxValue }));
    if (minValue !== undefined && number < minValue) errors.push(this.message('min_value', { min_value: minValue }));
    if (errors.length) throw new FieldError(errors);
    return number;
  }
}

export interface DecimalFieldOptions extends FieldOptions {
  /** Most digits in all (DRF's `max_digits`); null for no limit. */
  maxDigits: number | null;
  /** Digits after the point: input may have at most this many, output has exactly this many; null keeps them as given. */
  decimalPlaces: number | null;
  /** Show the value as a string (default true, DRF's `COERCE_DECIMAL_TO_STRING`); false shows a JSON number. */
  coerceToString?: boolean;
  /** Bounds, exact (give them as strings: `'0'`, `'999.99'`). */
  maxValue?: string | number;
  minValue?: string | number;
  /** How output is rounded to `decimalPlaces` (Python's context default, ROUND_HALF_EVEN, unless set). */
  rounding?: Rounding;
  /** Strip trailing zeros from the output (DRF's `normalize_output`). */
  normalizeOutput?: boolean;
}

/**
 * DRF's DecimalField. The internal (row) value is the decimal's plain text with `decimalPlaces` digits
 * after the point, so it is stored and read back exactly: SQLite keeps it as TEXT, PostgreSQL's
 * `numeric` comes back from `pg` as the same text.
 */
export class DecimalField<const O extends DecimalFieldOptions = DecimalFieldOptions> extends Field<string, O> {
  readonly maxDigits: number | null;
  readonly decimalPlaces: number | null;
  readonly maxWholeDigits: number | null;
  readonly coerceToString: boolean;
  private readonly maxValue: Decimal | undefined;
  private readonly minValue: Decimal | undefined;

  static override defaultErrorMessages: Record<string, string> = {
    invalid: 'A valid number is required.',
    ...RANGE_MESSAGES,
    max_digits: 'Ensure that there are no more than {max_digits} digits in total.',
    max_decimal_places: 'Ensure that there are no more than {max_decimal_places} decimal places.',
    max_whole_digits: 'Ensure that there are no more than {max_whole_digits} digits before the decimal point.',
  };

  constructor(options: O) {
    super(options);
    this.maxDigits = options.maxDigits;
    this.decimalPlaces = options.decimalPlaces;
    this.maxWholeDigits = this.maxDigits !== null && this.decimalPlaces !== null ? this.maxDigits - this.decimalPlaces : null;
    this.coerceToString = options.coerceToString ?? true;
    this.maxValue = bound(options.maxValue, 'maxValue');
    this.minValue = bound(options.minValue, 'minValue');
  }

  /** DRF's `validate_empty_values`: a blank string is null when null is allowed. */
  override runValidation(value: unknown, context?: Parameters<Field['runValidation']>[1]): unknown {
    if (this.allowNull && typeof value === 'string' && value.trim() === '') return null;
    return super.runValidation(value, context);
  }

  override toInternal(value: unknown): unknown {
    const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : undefined;
    if (text !== undefined && text.length > MAX_STRING_LENGTH) this.fail('max_string_length');
    const parsed = text === undefined ? undefined : parseDecimal(text);
    if (!parsed) this.fail('invalid');
    this.checkPrecision(parsed);
    const errors: string[] = [];
    if (this.maxValue && compareDecimals(parsed, this.maxValue) > 0)
      errors.push(this.message('max_value', { max_value: this.options.maxValue }));
    if (this.minValue && compareDecimals(parsed, this.minValue) < 0)
      errors.push(this.message('min_value', { min_value: this.options.minValue }));
    if (errors.length) throw new FieldError(errors);
    return formatDecimal(this.quantized(parsed));
  }

  /** DRF's `validate_precision`: the first limit passed is the message. */
  private checkPrecision(value: Decimal): void {
    const { total, whole, places } = precisionOf(value);
    if (this.maxDigits !== null && total > this.maxDigits) this.fail('max_digits', { max_digits: this.maxDigits });
    if (this.decimalPlaces !== null && places > this.decimalPlaces)
      this.fail('max_decimal_places', { max_decimal_places: this.decimalPlaces });
    if (this.maxWholeDigits !== null && whole > this.maxWholeDigits)
      this.fail('max_whole_digits', { max_whole_digits: this.maxWholeDigits });
  }

  private quantized(value: Decimal): Decimal {
    return this.decimalPlaces === null ? value : quantize(value, this.decimalPlaces, this.options.rounding);
  }

  override toRepresentation(value: unknown): unknown {
    const parsed = typeof value === 'string' || typeof value === 'number' ? toDecimal(value) : undefined;
    if (!parsed) return value;
    let shown = this.quantized(parsed);
    if (this.options.normalizeOutput) shown = normalized(shown);
    const text = formatDecimal(shown);
    return this.coerceToString ? text : Number(text);
  }
}

function bound(value: string | number | undefined, name: string): Decimal | undefined {
  if (value === undefined) return undefined;
  const parsed = toDecimal(value);
  if (!parsed) throw new Error(`DecimalField ${name} must be a number (got ${String(value)})`);
  return parsed;
}

/** Python's `Decimal.normalize()`: trailing zeros of the coefficient removed. */
function normalized(value: Decimal): Decimal {
  if (value.coefficient === 0n) return { negative: value.negative, coefficient: 0n, exponent: 0 };
  let { coefficient, exponent } = value;
  while (coefficient % 10n === 0n) {
    coefficient /= 10n;
    exponent += 1;
  }
  return { negative: value.negative, coefficient, exponent };
}
