/**
 * Configuration from the environment, overridable by CLI flags of the same names in kebab case
 * (`DATABASE_URL` ↔ `--database-url`).
 */
import { DEFAULT_DATABASE_URL } from './db/knex.js';
import { parseOriginList } from './server/origin.js';

export interface Config {
  host: string;
  port: number;
  databaseUrl: string;
  redisUrl: string | undefined;
  /** Redis channel prefix (REDIS_PREFIX): gateways sharing one Redis and one prefix share events. */
  redisPrefix: string | undefined;
  allowedOrigins: string[];
  /** Sockets per client IP; undefined = unlimited. */
  maxSocketsPerIp: number | undefined;
}

function numberOr(value: string | undefined, fallback: number | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${name} must be a whole number (got "${value}")`);
  return parsed;
}

/** Reads the configuration from an environment (and flags folded into it). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  return {
    host: env.HOST || '127.0.0.1',
    port: numberOr(env.PORT, 8000, 'PORT')!,
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX || undefined,
    allowedOrigins: parseOriginList(env.ALLOWED_ORIGINS),
    maxSocketsPerIp: numberOr(env.MAX_SOCKETS_PER_IP, undefined, 'MAX_SOCKETS_PER_IP'),
  };
}

/** Folds `--name value` / `--name=value` flags into an environment copy (`--database-url` → DATABASE_URL). */
export function applyFlags(argv: string[], env: Record<string, string | undefined>): { env: Record<string, string | undefined>; rest: string[] } {
  const out = { ...env };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      rest.push(arg);
      continue;
    }
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
      i++;
    }
    out[name.toUpperCase().replace(/-/g, '_')] = value;
  }
  return { env: out, rest };
}
