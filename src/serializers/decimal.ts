/**
 * Exact decimal numbers for DecimalField: a BigInt coefficient and a power-of-ten exponent, as Python's
 * `decimal.Decimal` holds them. Prices never pass through a float: text in, text out.
 */

/** A finite decimal: `coefficient × 10^exponent` (the coefficient keeps trailing zeros: "12.50" is 1250e-2). */
export interface Decimal {
  readonly negative: boolean;
  readonly coefficient: bigint;
  readonly exponent: number;
}

/** Python's rounding modes (`decimal.ROUND_*`); DRF's default is the context's, ROUND_HALF_EVEN. */
export type Rounding =
  | 'ROUND_HALF_EVEN'
  | 'ROUND_HALF_UP'
  | 'ROUND_HALF_DOWN'
  | 'ROUND_UP'
  | 'ROUND_DOWN'
  | 'ROUND_CEILING'
  | 'ROUND_FLOOR';

// What `decimal.Decimal(text)` accepts for finite numbers: digits with an optional point, an optional
// exponent, and underscores between digits (Python 3.6+).
const DECIMAL_TEXT = /^([+-])?(\d+(?:_\d+)*)?(?:\.(\d+(?:_\d+)*)?)?(?:[eE]([+-]?\d+(?:_\d+)*))?$/;

/** The exponent range Python's default context allows (Emax 999999, Emin -999999). */
const EXPONENT_LIMIT = 999_999;

/** Parses decimal text (already stripped); undefined when Python's Decimal would refuse it or it is not finite. */
export function parseDecimal(text: string): Decimal | undefined {
  const match = DECIMAL_TEXT.exec(text);
  if (!match) return undefined;
  const whole = (match[2] ?? '').replace(/_/g, '');
  const fraction = (match[3] ?? '').replace(/_/g, '');
  if (whole === '' && fraction === '') return undefined;
  const exponent = (match[4] ? Number(match[4].replace(/_/g, '')) : 0) - fraction.length;
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > EXPONENT_LIMIT + 1000) return undefined;
  return { negative: match[1] === '-', coefficient: BigInt(whole + fraction || '0'), exponent };
}

/** Digits counted as DRF's `validate_precision` counts them: total, before the point, after it. */
export function precisionOf(value: Decimal): { total: number; whole: number; places: number } {
  const digits = value.coefficient.toString().length;
  if (value.exponent >= 0) {
    const total = digits + value.exponent;
    return { total, whole: total, places: 0 };
  }
  const places = -value.exponent;
  if (digits > places) return { total: digits, whole: digits - places, places };
  return { total: places, whole: 0, places };
}

const TEN = 10n;

function pow10(n: number): bigint {
  return TEN ** BigInt(n);
}

/** The value with exactly `places` digits after the point (Python's `quantize(Decimal('.1') ** places)`). */
export function quantize(value: Decimal, places: number, rounding: Rounding = 'ROUND_HALF_EVEN'): Decimal {
  const target = -places;
  if (value.exponent === target) return value;
  if (value.exponent > target) {
    return { ...value, coefficient: value.coefficient * pow10(value.exponent - target), exponent: target };
  }
  const divisor = pow10(target - value.exponent);
  let quotient = value.coefficient / divisor;
  const remainder = value.coefficient % divisor;
  if (remainder !== 0n && roundsAway(rounding, value.negative, quotient, remainder * 2n, divisor)) quotient += 1n;
  return { negative: value.negative, coefficient: quotient, exponent: target };
}

/** Whether a truncated magnitude goes one up: `twiceRemainder` compared with the divisor tells below, at or above half. */
function roundsAway(rounding: Rounding, negative: boolean, quotient: bigint, twiceRemainder: bigint, divisor: bigint): boolean {
  switch (rounding) {
    case 'ROUND_DOWN':
      return false;
    case 'ROUND_UP':
      return true;
    case 'ROUND_CEILING':
      return !negative;
    case 'ROUND_FLOOR':
      return negative;
    case 'ROUND_HALF_UP':
      return twiceRemainder >= divisor;
    case 'ROUND_HALF_DOWN':
      return twiceRemainder > divisor;
    default:
      return twiceRemainder > divisor || (twiceRemainder === divisor && quotient % 2n === 1n);
  }
}

/** Python's `'{:f}'.format(value)`: plain notation, no exponent, the sign kept for negative zero too. */
export function formatDecimal(value: Decimal): string {
  const digits = value.coefficient.toString();
  const sign = value.negative ? '-' : '';
  if (value.exponent >= 0) return sign + digits + '0'.repeat(value.exponent);
  const places = -value.exponent;
  const padded = digits.padStart(places + 1, '0');
  return `${sign}${padded.slice(0, padded.length - places)}.${padded.slice(padded.length - places)}`;
}

/** Python's `str(Decimal)` for messages (`Ensure this value is less than or equal to 5.`): plain notation. */
export const decimalText = formatDecimal;

/** -1, 0 or 1 as `a` is below, equal to or above `b` (exact). */
export function compareDecimals(a: Decimal, b: Decimal): number {
  const exponent = Math.min(a.exponent, b.exponent);
  const scaled = (value: Decimal) => (value.negative ? -1n : 1n) * value.coefficient * pow10(value.exponent - exponent);
  const left = scaled(a);
  const right = scaled(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** The exact product of two decimals (Python's Decimal multiplication within the default 28-digit precision). */
export function multiplyDecimals(a: Decimal, b: Decimal): Decimal {
  return { negative: a.negative !== b.negative, coefficient: a.coefficient * b.coefficient, exponent: a.exponent + b.exponent };
}

/** A decimal from text or a JS number (numbers through their shortest text, as Python's `str(float)`). */
export function toDecimal(value: string | number | Decimal): Decimal | undefined {
  if (typeof value === 'object') return value;
  return parseDecimal(typeof value === 'number' ? String(value) : value.trim());
}
