/**
 * Date and time fields (DRF 3.15 with its default ISO 8601 settings, Django's `USE_TZ = True` and
 * `TIME_ZONE = 'UTC'`): DateField, DateTimeField, TimeField, DurationField.
 *
 * Time zones: a datetime with an offset is converted to the field's time zone (UTC unless `timezone`
 * names a fixed offset such as `+05:30`); one without an offset is read in that zone. Output is
 * Python's `isoformat()` in that zone, `Z` for UTC, with the microseconds as 6 digits (none when zero).
 * Row values: datetimes are stored as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (fixed width, so text order is time
 * order on SQLite; PostgreSQL `timestamptz` reads it as is), dates as `YYYY-MM-DD`, times as
 * `HH:MM:SS[.ffffff]`, durations as Django's `[DD ]HH:MM:SS[.ffffff]`. Reading accepts those, the texts
 * PostgreSQL returns, and JS Dates.
 */
import {
  DURATION_DAYS,
  durationDays,
  formatDate,
  formatDateTime,
  formatDuration,
  formatTime,
  instantOfDate,
  parseDate,
  parseDateTime,
  parseDuration,
  parseOffsetOption,
  parseTime,
  pythonDurationText,
  toInstant,
  wallClock,
  type Instant,
} from '../datetime.js';
import { Field, FieldError, type FieldOptions } from './base.js';

/** `iso-8601` (DRF's default) or null: the row value is shown as it is. */
export type DateFormat = 'iso-8601' | null;

export interface DateFieldOptions extends FieldOptions {
  /** Output format: `iso-8601` (default) or null (the row value as it is). */
  format?: DateFormat;
}

/** DRF's DateField: `YYYY-MM-DD` in and out. */
export class DateField<const O extends DateFieldOptions = DateFieldOptions> extends Field<string, O> {
  static override defaultErrorMessages: Record<string, string> = {
    invalid: 'Date has wrong format. Use one of these formats instead: {format}.',
    datetime: 'Expected a date but got a datetime.',
  };

  override toInternal(value: unknown): unknown {
    const date = typeof value === 'string' ? parseDate(value) : undefined;
    if (!date) this.fail('invalid', { format: 'YYYY-MM-DD' });
    return formatDate(date);
  }

  override toRepresentation(value: unknown): unknown {
    if (this.options.format === null) return value;
    if (value instanceof Date) {
      // A driver's Date for a date column is local midnight of that day.
      return Number.isNaN(value.getTime())
        ? null
        : formatDate({ year: value.getFullYear(), month: value.getMonth() + 1, day: value.getDate() });
    }
    if (typeof value !== 'string') return value;
    if (value === '') return null;
    const date = parseDate(value.slice(0, 10));
    return date ? formatDate(date) : value;
  }
}

export interface DateTimeFieldOptions extends FieldOptions {
  /** Output format: `iso-8601` (default) or null (the row value as it is). */
  format?: DateFormat;
  /** The zone naive input is read in and output is shown in: `UTC` (default) or a fixed offset (`+05:30`). */
  timezone?: string;
}

/** DRF's DateTimeField (see the module comment for time zones and storage). */
export class DateTimeField<const O extends DateTimeFieldOptions = DateTimeFieldOptions> extends Field<string, O> {
  /** Minutes east of UTC of the field's zone. */
  readonly offsetMinutes: number;

  static override defaultErrorMessages: Record<string, string> = {
    invalid: 'Datetime has wrong format. Use one of these formats instead: {format}.',
    date: 'Expected a datetime but got a date.',
    make_aware: 'Invalid datetime for the timezone "{timezone}".',
    overflow: 'Datetime value out of range.',
  };

  /** DRF's humanized ISO 8601 input format. */
  static readonly ISO_FORMAT = 'YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]';

  constructor(options: O = {} as O) {
    super(options);
    this.offsetMinutes = parseOffsetOption(options.timezone ?? 'UTC');
  }

  override toInternal(value: unknown): unknown {
    const parsed = typeof value === 'string' ? parseDateTime(value) : undefined;
    if (!parsed) this.fail('invalid', { format: DateTimeField.ISO_FORMAT });
    const instant = toInstant(parsed, this.offsetMinutes);
    // Python refuses a datetime that leaves years 1-9999 once converted to the field's zone.
    if (!wallClock(instant, this.offsetMinutes) || !wallClock(instant, 0)) this.fail('overflow');
    return storedInstant(instant);
  }

  override toRepresentation(value: unknown): unknown {
    if (this.options.format === null) return value;
    const instant = instantOf(value, this.offsetMinutes);
    if (!instant) return value === '' ? null : value;
    const wall = wallClock(instant, this.offsetMinutes);
    return wall ? formatDateTime(wall, this.offsetMinutes) : value;
  }
}

/** The stored text of an instant: UTC, 6 fraction digits. */
function storedInstant(instant: Instant): string {
  const wall = wallClock(instant, 0) as NonNullable<ReturnType<typeof wallClock>>;
  return `${formatDate(wall)}T${formatTime({ ...wall, microsecond: 0 })}.${String(instant.microsecond).padStart(6, '0')}Z`;
}

/** The instant of a row value: a JS Date, epoch milliseconds, or text (naive text is in `offsetMinutes`). */
function instantOf(value: unknown, offsetMinutes: number): Instant | undefined {
  if (value instanceof Date) return instantOfDate(value);
  if (typeof value === 'number') return instantOfDate(new Date(value));
  if (typeof value !== 'string') return undefined;
  const parsed = parseDateTime(value);
  return parsed ? toInstant(parsed, offsetMinutes) : undefined;
}

export interface TimeFieldOptions extends FieldOptions {
  /** Output format: `iso-8601` (default) or null (the row value as it is). */
  format?: DateFormat;
}

/** DRF's TimeField: `hh:mm[:ss[.uuuuuu]]` in, `HH:MM:SS[.ffffff]` out (an offset in input is dropped, as Django does). */
export class TimeField<const O extends TimeFieldOptions = TimeFieldOptions> extends Field<string, O> {
  static override defaultErrorMessages: Record<string, string> = {
    invalid: 'Time has wrong format. Use one of these formats instead: {format}.',
  };

  override toInternal(value: unknown): unknown {
    const time = typeof value === 'string' ? parseTime(value) : undefined;
    if (!time) this.fail('invalid', { format: 'hh:mm[:ss[.uuuuuu]]' });
    return formatTime(time);
  }

  override toRepresentation(value: unknown): unknown {
    if (this.options.format === null || typeof value !== 'string') return value;
    if (value === '') return null;
    const time = parseTime(value.replace(/[+-]\d{2}(?::?\d{2})?$/, ''));
    return time ? formatTime(time) : value;
  }
}

export interface DurationFieldOptions extends FieldOptions {
  /** Bounds as duration text (`'1 00:00:00'`, `'P1D'`) or microseconds. */
  maxValue?: string | bigint;
  minValue?: string | bigint;
}

/** DRF's DurationField: `[DD] [HH:[MM:]]ss[.uuuuuu]`, ISO 8601 (`P3DT4H`) or PostgreSQL (`3 days 04:05:06`) in; Django's `duration_string` out. */
export class DurationField<const O extends DurationFieldOptions = DurationFieldOptions> extends Field<string, O> {
  private readonly maxMicros: bigint | undefined;
  private readonly minMicros: bigint | undefined;

  static override defaultErrorMessages: Record<string, string> = {
    invalid: 'Duration has wrong format. Use one of these formats instead: {format}.',
    max_value: 'Ensure this value is less than or equal to {max_value}.',
    min_value: 'Ensure this value is greater than or equal to {min_value}.',
    overflow: 'The number of days must be between {min_days} and {max_days}.',
  };

  constructor(options: O = {} as O) {
    super(options);
    this.maxMicros = durationBound(options.maxValue);
    this.minMicros = durationBound(options.minValue);
  }

  override toInternal(value: unknown): unknown {
    // DRF parses `str(value)`: a number is seconds.
    const text = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
    const micros = text === undefined ? undefined : parseDuration(text);
    if (micros === undefined) this.fail('invalid', { format: '[DD] [HH:[MM:]]ss[.uuuuuu]' });
    const days = durationDays(micros);
    if (days < BigInt(DURATION_DAYS.min) || days > BigInt(DURATION_DAYS.max)) {
      this.fail('overflow', { min_days: DURATION_DAYS.min, max_days: DURATION_DAYS.max });
    }
    const errors: string[] = [];
    if (this.maxMicros !== undefined && micros > this.maxMicros)
      errors.push(this.message('max_value', { max_value: pythonDurationText(this.maxMicros) }));
    if (this.minMicros !== undefined && micros < this.minMicros)
      errors.push(this.message('min_value', { min_value: pythonDurationText(this.minMicros) }));
    if (errors.length) throw new FieldError(errors);
    return formatDuration(micros);
  }

  override toRepresentation(value: unknown): unknown {
    const micros = typeof value === 'string' ? parseDuration(value) : typeof value === 'number' ? BigInt(Math.round(value)) : undefined;
    return micros === undefined ? value : formatDuration(micros);
  }
}

function durationBound(value: string | bigint | undefined): bigint | undefined {
  if (value === undefined || typeof value === 'bigint') return value;
  const micros = parseDuration(value);
  if (micros === undefined) throw new Error(`DurationField bound must be a duration (got "${value}")`);
  return micros;
}
