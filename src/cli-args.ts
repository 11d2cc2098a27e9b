/**
 * The command line of `dcrf-gateway`: commands, their help, and flags named after the configuration's
 * environment variables in kebab case (`DATABASE_URL` ↔ `--database-url`). Built on `util.parseArgs`
 * in strict mode: an unknown flag is refused with the nearest known one, `--help` and `--version` work
 * before or after any command.
 */
import { parseArgs } from 'node:util';
import { CONFIG_VARIABLES, changeLogSettings } from './config.js';

/** The commands and their one-line descriptions (the order of the usage text). */
export const COMMANDS = {
  serve: 'run pending migrations, then serve the app module [app] (default: the demo app) on HOST:PORT',
  migrate: "run the pending migrations of the app module [app] (default: the demo's)",
  createtoken: "print a token for <username> from the app's authenticator (the demo's creates <username>@example.com if missing)",
  help: "print this help, or a command's: help <command>",
} as const;

export type Command = keyof typeof COMMANDS;

/** The log levels `--log-level` / LOG_LEVEL take. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** What the command line asks for. */
export type Invocation =
  | { kind: 'help'; command?: Command }
  | { kind: 'version' }
  | { kind: 'run'; command: Command; args: string[]; env: Record<string, string | undefined>; app?: string }
  | { kind: 'error'; message: string };

/** `DATABASE_URL` → `database-url`. */
export function flagName(variable: string): string {
  return variable.toLowerCase().replace(/_/g, '-');
}

const FLAGS = [...CONFIG_VARIABLES, 'LOG_LEVEL'].map(flagName);

/** Reads argv (without node and the script): the command, its arguments and the flags folded into `env`. */
export function parseCommandLine(argv: string[], env: Record<string, string | undefined>): Invocation {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
    app: { type: 'string' },
  };
  for (const flag of FLAGS) options[flag] = { type: 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    return { kind: 'error', message: explain(error as Error & { code?: string }) };
  }
  const [first, ...args] = parsed.positionals;
  const command = first as Command | undefined;
  if (command !== undefined && !(command in COMMANDS)) {
    const near = nearest(command, Object.keys(COMMANDS));
    return { kind: 'error', message: `unknown command "${command}"${near ? `: did you mean "${near}"?` : ''}` };
  }
  if (parsed.values.version) return { kind: 'version' };
  if (parsed.values.help || command === undefined) return { kind: 'help', command };
  if (command === 'help') {
    const topic = args[0] as Command | undefined;
    if (topic !== undefined && !(topic in COMMANDS)) return { kind: 'error', message: `unknown command "${topic}"` };
    return { kind: 'help', command: topic };
  }
  const out = { ...env };
  for (const [name, value] of Object.entries(parsed.values)) {
    if (typeof value === 'string' && name !== 'app') out[name.toUpperCase().replace(/-/g, '_')] = value;
  }
  if (out.LOG_LEVEL !== undefined && !(LOG_LEVELS as readonly string[]).includes(out.LOG_LEVEL)) {
    return { kind: 'error', message: `--log-level must be one of ${LOG_LEVELS.join(', ')} (got "${out.LOG_LEVEL}")` };
  }
  try {
    // Refused here, before anything starts, like any other bad flag.
    changeLogSettings(out);
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
  if (command === 'createtoken' && args.length !== 1) return { kind: 'error', message: 'createtoken takes one <username>' };
  // serve and migrate take the app module as their argument too: `serve ./dist/app.js`.
  const flagApp = parsed.values.app as string | undefined;
  if (command !== 'createtoken' && args.length > 1)
    return { kind: 'error', message: `${command} takes one [app] module (got "${args[1]}")` };
  if (command !== 'createtoken' && args.length === 1 && flagApp !== undefined) {
    return { kind: 'error', message: `${command}: name the app module once, as the argument or --app` };
  }
  const app = flagApp ?? (command === 'createtoken' ? undefined : args[0]);
  if (app === '') return { kind: 'error', message: '--app needs a module path' };
  return app === undefined
    ? { kind: 'run', command, args, env: out }
    : { kind: 'run', command, args: command === 'createtoken' ? args : [], env: out, app };
}

/** parseArgs's errors in the words of this command line. */
function explain(error: Error & { code?: string }): string {
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(error.message);
  if (unknown) {
    const flag = (unknown[1] as string).replace(/^-+/, '');
    const near = nearest(flag, [...FLAGS, 'app', 'help', 'version']);
    return `unknown flag ${unknown[1]}${near ? `: did you mean --${near}?` : ''}`;
  }
  const missing = /Option '(?:-\w, )?(--[^ ']+)[^']*' argument missing/.exec(error.message);
  if (missing) return `${missing[1]} needs a value`;
  return error.message;
}

/** The candidate nearest to `word` by edit distance, when it is close enough to be a typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The usage text: every command, or one command's. */
export function usage(command?: Command): string {
  const flags = `flags (each also an environment variable: --database-url = DATABASE_URL):\n${wrap(FLAGS.map((flag) => `--${flag}`))}\n  --app <module>   the app module (createtoken; serve and migrate take it as their argument too)\n  -h, --help   this help      -v, --version   the version\n`;
  const apps =
    'an app module is a JavaScript file whose default export is the createApp options, or a function returning them\n  or an app (docs/getting-started.md); flags reach it as environment variables (--port = PORT)\n';
  if (command === 'createtoken') {
    return `usage: dcrf-gateway createtoken <username> [--app <module>] [flags]\n\n  ${COMMANDS.createtoken}\n  ${apps}\n${flags}`;
  }
  if (command && command !== 'help') return `usage: dcrf-gateway ${command} [app] [flags]\n\n  ${COMMANDS[command]}\n  ${apps}\n${flags}`;
  const commands = Object.entries(COMMANDS)
    .map(
      ([name, text]) =>
        `  ${(name === 'createtoken' ? 'createtoken <username>' : name === 'help' ? name : `${name} [app]`).padEnd(24)}${text}`,
    )
    .join('\n');
  return `usage: dcrf-gateway <command> [flags]\n\ncommands:\n${commands}\n\n  ${apps}\n${flags}`;
}

function wrap(words: string[]): string {
  const lines: string[] = [];
  let line = ' ';
  for (const word of words) {
    if (line.length + word.length + 1 > 100) {
      lines.push(line);
      line = ' ';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}
