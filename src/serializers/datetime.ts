/**
 * Dates, times, datetimes and durations as DRF reads and writes them with its default ISO 8601
 * settings, on Python's rules (`datetime.fromisoformat` of Python 3.11, then Django's `dateparse`
 * regexes). Values keep microseconds: a JS Date (milliseconds) is never the internal form.
 */

/** A calendar date. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** A wall-clock time. */
export interface ClockTime {
  hour: number;
  minute: number;
  second: number;
  microsecond: number;
}

/** A point in time: seconds since the Unix epoch (UTC) and the microseconds within that second. */
export interface Instant {
  seconds: number;
  microsecond: number;
}

/** A datetime as parsed: its wall-clock fields and the offset it named (minutes east of UTC), if any. */
export interface ParsedDateTime extends CalendarDate, ClockTime {
  offsetMinutes: number | undefined;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$|^(\d{4})(\d{2})(\d{2})$/;
const DJANGO_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
// Python's fromisoformat: HH[:MM[:SS[.f...]]] or HH[MM[SS[.f...]]], an optional offset.
const ISO_TIME = /^(\d{2})(?:(:?)(\d{2})(?:\2(\d{2})(?:[.,](\d+))?)?)?(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2}(?:\.\d{1,6})?)?)?)?$/;
const DJANGO_TIME = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,6})\d{0,6})?)?$/;
const DJANGO_DATETIME =
  /^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,6})\d{0,6})?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : (MONTH_DAYS[month - 1] as number);
}

function validDate(year: number, month: number, day: number): CalendarDate | undefined {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
}

function validTime(hour: number, minute: number, second: number, fraction: string | undefined): ClockTime | undefined {
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return { hour, minute, second, microsecond: fraction ? Number(fraction.slice(0, 6).padEnd(6, '0')) : 0 };
}

/** An offset text (`Z`, `+05`, `+0530`, `-05:30`) in minutes; undefined when it is not a valid one. */
function offsetOf(text: string): number | undefined {
  if (text === 'Z') return 0;
  const digits = text.slice(1).replace(/:/g, '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2, 4) || '0');
  const seconds = Number(digits.slice(4, 6) || '0');
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  const total = hours * 60 + minutes + seconds / 60;
  return text[0] === '-' ? -total : total;
}

/** Django's `parse_date`: `YYYY-MM-DD` (1- or 2-digit month and day) or `YYYYMMDD`. */
export function parseDate(text: string): CalendarDate | undefined {
  const iso = ISO_DATE.exec(text);
  if (iso) return validDate(Number(iso[1] ?? iso[4]), Number(iso[2] ?? iso[5]), Number(iso[3] ?? iso[6]));
  const loose = DJANGO_DATE.exec(text);
  return loose ? validDate(Number(loose[1]), Number(loose[2]), Number(loose[3])) : undefined;
}

/** Django's `parse_time`: an offset is accepted and dropped (times are never aware). */
export function parseTime(text: string): ClockTime | undefined {
  const iso = ISO_TIME.exec(text);
  if (iso) {
    if (iso[6] && offsetOf(iso[6]) === undefined) return undefined;
    return validTime(Number(iso[1]), Number(iso[3] ?? 0), Number(iso[4] ?? 0), iso[5]);
  }
  const loose = DJANGO_TIME.exec(text);
  return loose ? validTime(Number(loose[1]), Number(loose[2]), Number(loose[3] ?? 0), loose[4]) : undefined;
}

/**
 * Django's `parse_datetime`: a date alone (midnight), or a date, one separator character and a time,
 * with an optional offset (`Z`, `+HH`, `+HHMM`, `+HH:MM`).
 */
export function parseDateTime(text: string): ParsedDateTime | undefined {
  const date = parseDate(text);
  if (date && ISO_DATE.test(text)) return { ...date, hour: 0, minute: 0, second: 0, microsecond: 0, offsetMinutes: undefined };
  const split = /^(\d{4}-\d{2}-\d{2}|\d{8})[^\d](.+)$/s.exec(text);
  if (split) {
    const day = parseDate(split[1] as string);
    const time = ISO_TIME.exec(split[2] as string);
    if (day && time) {
      const clock = validTime(Number(time[1]), Number(time[3] ?? 0), Number(time[4] ?? 0), time[5]);
      const offset = time[6] === undefined ? undefined : offsetOf(time[6]);
      if (!clock || (time[6] !== undefined && offset === undefined)) return undefined;
      return { ...day, ...clock, offsetMinutes: offset };
    }
  }
  const loose = DJANGO_DATETIME.exec(text);
  if (!loose) return undefined;
  const day = validDate(Number(loose[1]), Number(loose[2]), Number(loose[3]));
  const clock = validTime(Number(loose[4]), Number(loose[5]), Number(loose[6] ?? 0), loose[7]);
  const offset = loose[8] === undefined ? undefined : offsetOf(loose[8]);
  if (!day || !clock || (loose[8] !== undefined && offset === undefined)) return undefined;
  return { ...day, ...clock, offsetMinutes: offset };
}

/** The instant a parsed datetime names; a naive one is read in `defaultOffset` (minutes east of UTC). */
export function toInstant(value: ParsedDateTime, defaultOffset: number): Instant {
  const offset = value.offsetMinutes ?? defaultOffset;
  const wall = Date.UTC(value.year, value.month - 1, value.day, value.hour, value.minute, value.second) / 1000;
  // Date.UTC maps years 0-99 to 1900-1999; the wall clock is rebuilt for those below.
  const seconds = value.year < 100 ? wallSeconds(value) : wall;
  return { seconds: Math.round(seconds - offset * 60), microsecond: value.microsecond };
}

function wallSeconds(value: CalendarDate & ClockTime): number {
  const date = new Date(0);
  date.setUTCFullYear(value.year, value.month - 1, value.day);
  date.setUTCHours(value.hour, value.minute, value.second, 0);
  return date.getTime() / 1000;
}

/** The instant of a JS Date (millisecond precision). */
export function instantOfDate(date: Date): Instant | undefined {
  const ms = date.getTime();
  if (Number.isNaN(ms)) return undefined;
  const seconds = Math.floor(ms / 1000);
  return { seconds, microsecond: (ms - seconds * 1000) * 1000 };
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** The wall-clock fields of an instant seen at `offsetMinutes`; undefined outside years 1-9999 (Python's range). */
export function wallClock(instant: Instant, offsetMinutes: number): (CalendarDate & ClockTime) | undefined {
  const date = new Date((instant.seconds + offsetMinutes * 60) * 1000);
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 1 || year > 9999) return undefined;
  return {
    year,
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    microsecond: instant.microsecond,
  };
}

/** Python's `date.isoformat()`. */
export function formatDate(date: CalendarDate): string {
  return `${pad(date.year, 4)}-${pad(date.month)}-${pad(date.day)}`;
}

/** Python's `time.isoformat()`: the fraction as 6 digits, none when it is zero. */
export function formatTime(time: ClockTime): string {
  const fraction = time.microsecond ? `.${pad(time.microsecond, 6)}` : '';
  return `${pad(time.hour)}:${pad(time.minute)}:${pad(time.second)}${fraction}`;
}

/** An offset as Python's isoformat writes it (`+05:30`), `Z` for UTC as DRF writes it. */
export function formatOffset(offsetMinutes: number): string {
  if (offsetMinutes === 0) return 'Z';
  const sign = offsetMinutes < 0 ? '-' : '+';
  const total = Math.abs(offsetMinutes);
  return `${sign}${pad(Math.floor(total / 60))}:${pad(total % 60)}`;
}

/** DRF's ISO 8601 output of an aware datetime: `2024-01-02T10:00:00.123456Z`. */
export function formatDateTime(wall: CalendarDate & ClockTime, offsetMinutes: number): string {
  return `${formatDate(wall)}T${formatTime(wall)}${formatOffset(offsetMinutes)}`;
}

/** A fixed offset option (`UTC`, `+05:30`, `-0800`) in minutes. */
export function parseOffsetOption(text: string): number {
  if (text.toUpperCase() === 'UTC' || text === 'Z') return 0;
  const offset = /^[+-]\d{2}(?::?\d{2})?$/.test(text) ? offsetOf(text) : undefined;
  if (offset === undefined) throw new Error(`timezone must be "UTC" or a fixed offset such as "+05:30" (got "${text}")`);
  return offset;
}

// ---- durations -----------------------------------------------------------------------------

const STANDARD_DURATION = /^(?:(-?\d+) (?:days?, )?)?(-?)(?:(\d+):(?=\d+:\d+))?(?:(\d+):)?(\d+)(?:[.,](\d{1,6})\d{0,6})?$/;
const ISO_DURATION = /^([-+]?)P(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;
const POSTGRES_DURATION = /^(?:(-?\d+) (?:days? ?))?(?:([-+])?(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?$/;

const MICROS = { second: 1_000_000n, minute: 60_000_000n, hour: 3_600_000_000n, day: 86_400_000_000n };

/** timedelta's range in days (`timedelta.min.days`, `timedelta.max.days`). */
export const DURATION_DAYS = { min: -999_999_999, max: 999_999_999 } as const;

/** Decimal text (`1.5`, `1,5`) times a unit, in whole microseconds (Python rounds the float half to even). */
function scaled(text: string | undefined, unit: bigint): bigint {
  if (!text) return 0n;
  const [whole = '0', fraction = ''] = text.replace(',', '.').split('.');
  const digits = fraction.slice(0, 12);
  const exact = BigInt(whole) * unit + (BigInt(digits || '0') * unit) / 10n ** BigInt(digits.length);
  return exact;
}

/** Django's `parse_duration` in microseconds: `[-][DD ][[HH:]MM:]ss[.uuuuuu]`, ISO 8601 (`P3DT4H`), PostgreSQL (`3 days 04:05:06`). */
export function parseDuration(text: string): bigint | undefined {
  let match = STANDARD_DURATION.exec(text);
  if (match) {
    const days = BigInt(match[1] ?? '0') * MICROS.day;
    const sign = match[2] === '-' ? -1n : 1n;
    const rest =
      BigInt(match[3] ?? '0') * MICROS.hour +
      BigInt(match[4] ?? '0') * MICROS.minute +
      BigInt(match[5] as string) * MICROS.second +
      BigInt((match[6] ?? '').padEnd(6, '0') || '0');
    return days + sign * rest;
  }
  match = ISO_DURATION.exec(text);
  if (match && text !== 'P' && !text.endsWith('T')) {
    const sign = match[1] === '-' ? -1n : 1n;
    return (
      sign *
      (scaled(match[2], MICROS.day) + scaled(match[3], MICROS.hour) + scaled(match[4], MICROS.minute) + scaled(match[5], MICROS.second))
    );
  }
  match = POSTGRES_DURATION.exec(text);
  if (match && text !== '') {
    const days = BigInt(match[1] ?? '0') * MICROS.day;
    const sign = match[2] === '-' ? -1n : 1n;
    const rest =
      BigInt(match[3] ?? '0') * MICROS.hour +
      BigInt(match[4] ?? '0') * MICROS.minute +
      BigInt(match[5] ?? '0') * MICROS.second +
      BigInt((match[6] ?? '').padEnd(6, '0') || '0');
    return days + sign * rest;
  }
  return undefined;
}

/** timedelta's normalized parts: days (any sign), then seconds and microseconds within the day. */
function durationParts(micros: bigint): { days: bigint; seconds: bigint; microseconds: bigint } {
  let days = micros / MICROS.day;
  let rest = micros % MICROS.day;
  if (rest < 0n) {
    days -= 1n;
    rest += MICROS.day;
  }
  return { days, seconds: rest / MICROS.second, microseconds: rest % MICROS.second };
}

/** The whole days of a duration as timedelta counts them (floor). */
export function durationDays(micros: bigint): bigint {
  return durationParts(micros).days;
}

/** Django's `duration_string`: `[DD ]HH:MM:SS[.uuuuuu]`, as DRF's DurationField writes it. */
export function formatDuration(micros: bigint): string {
  const { days, seconds, microseconds } = durationParts(micros);
  const clock = `${pad(Number(seconds / 3600n))}:${pad(Number((seconds % 3600n) / 60n))}:${pad(Number(seconds % 60n))}`;
  return `${days ? `${days} ` : ''}${clock}${microseconds ? `.${pad(Number(microseconds), 6)}` : ''}`;
}

/** Python's `str(timedelta)` (`1 day, 0:00:05`), for DRF's min/max messages. */
export function pythonDurationText(micros: bigint): string {
  const { days, seconds, microseconds } = durationParts(micros);
  const clock = `${Number(seconds / 3600n)}:${pad(Number((seconds % 3600n) / 60n))}:${pad(Number(seconds % 60n))}`;
  const prefix = days ? `${days} day${days === 1n || days === -1n ? '' : 's'}, ` : '';
  return `${prefix}${clock}${microseconds ? `.${pad(Number(microseconds), 6)}` : ''}`;
}
