/**
 * One-line JSON logs on stderr. `LOG_LEVEL` = debug | info | warn | error | silent (default info).
 * Tokens and stacks never go to clients; stacks go here, once, with the request id.
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = keyof typeof LEVELS;

function threshold(): number {
  const name = (process.env.LOG_LEVEL ?? 'info') as Level;
  return LEVELS[name] ?? LEVELS.info;
}

let minimum = threshold();

function write(level: Exclude<Level, 'silent'>, message: string, fields?: Record<string, unknown>): void {
  if (LEVELS[level] < minimum) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields });
  process.stderr.write(`${line}\n`);
}

/** The process logger. */
export const logger = {
  debug: (message: string, fields?: Record<string, unknown>) => write('debug', message, fields),
  info: (message: string, fields?: Record<string, unknown>) => write('info', message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write('warn', message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write('error', message, fields),
  /** Re-reads LOG_LEVEL (tests change it). */
  reconfigure(): void {
    minimum = threshold();
  },
};
