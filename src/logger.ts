/**
 * Logging. By default, one-line JSON on stderr, `LOG_LEVEL` = trace | debug | info | warn | error |
 * fatal | silent (default info). An app may send the records to a logger of its own in pino's shape
 * (`setLogger(pino())`): each level takes `(fields, message)`. Tokens and stacks never go to clients;
 * stacks go to the log, once, with the request id.
 */

/** The levels, lowest first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** One level's name. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One level's method, as pino has it: `(fields, message?)` or `(message)`. */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/**
 * A logger the library can write to: pino's shape, so a `pino()` logger (or a child of one) can be
 * passed as it is; any object with the six methods works.
 */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger whose records all carry `bindings` (pino's `child`); optional. */
  child?(bindings: Record<string, unknown>): Logger;
  /** Whether a level would be written (pino's `isLevelEnabled`); absent: every level may be. */
  isLevelEnabled?(level: string): boolean;
}

const RANKS: Record<LogLevel | 'silent', number> = { trace: 5, debug: 10, info: 20, warn: 30, error: 40, fatal: 50, silent: 100 };

function threshold(): number {
  const name = (process.env.LOG_LEVEL ?? 'info') as LogLevel | 'silent';
  return RANKS[name] ?? RANKS.info;
}

let minimum = threshold();

/** The default logger: one JSON line per record on stderr, `{"time", "level", "msg", ...fields}`, from `LOG_LEVEL` up. */
function jsonLine(level: LogLevel): LogFn {
  return ((first: object | string, second?: string) => {
    if (RANKS[level] < minimum) return;
    const [fields, message] = typeof first === 'string' ? [undefined, first] : [first, second];
    const line = JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields });
    process.stderr.write(`${line}\n`);
  }) as LogFn;
}

const stderrLogger: Logger = {
  trace: jsonLine('trace'),
  debug: jsonLine('debug'),
  info: jsonLine('info'),
  warn: jsonLine('warn'),
  error: jsonLine('error'),
  fatal: jsonLine('fatal'),
  isLevelEnabled: (level) => (RANKS[level as LogLevel] ?? RANKS.info) >= minimum,
};

let sink: Logger = stderrLogger;

/**
 * Sends every record of the library (and of the CLI) to `target` from now on: a pino logger, a child
 * of one, or any object with pino's six level methods; its own level decides what is written.
 * `setLogger(undefined)` goes back to the JSON lines on stderr. The logger is the process's: two apps
 * in one process share it (give each a `child` with its name, and tell them apart by its bindings).
 */
export function setLogger(target: Logger | undefined): void {
  if (target)
    for (const level of LOG_LEVELS)
      if (typeof target[level] !== 'function') throw new TypeError(`setLogger: the logger has no ${level}() method`);
  sink = target ?? stderrLogger;
}

/** The logger records go to (the one `setLogger` set, else the stderr JSON logger). */
export function getLogger(): Logger {
  return sink;
}

/** Writes one record: the call sites say `(message, fields)`, pino's order `(fields, message)` works too. */
function write(level: LogLevel, first: string | object, second?: string | object): void {
  if (typeof first === 'string') sink[level]((second as object | undefined) ?? {}, first);
  else sink[level](first, second as string | undefined);
}

type LevelMethod = {
  (message: string, fields?: Record<string, unknown>): void;
  (fields: object, message?: string): void;
};

const method =
  (level: LogLevel): LevelMethod =>
  (first: string | object, second?: string | object) =>
    write(level, first, second);

/** The process logger the library writes through (to `setLogger`'s logger, or stderr). */
export const logger = {
  trace: method('trace'),
  debug: method('debug'),
  info: method('info'),
  warn: method('warn'),
  error: method('error'),
  fatal: method('fatal'),
  /** Whether a level would be written: skip building a record nobody reads (hot paths' debug records). */
  enabled(level: LogLevel): boolean {
    return sink.isLevelEnabled ? sink.isLevelEnabled(level) : true;
  },
  /** Re-reads LOG_LEVEL for the stderr logger (the CLI's `--log-level`; tests change it). */
  reconfigure(): void {
    minimum = threshold();
  },
};
