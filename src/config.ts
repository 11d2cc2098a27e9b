/**
 * Configuration from the environment, overridable by CLI flags of the same names in kebab case
 * (`DATABASE_URL` ↔ `--database-url`).
 */
import { DEFAULT_DATABASE_URL } from './db/knex.js';
import { DEFAULT_BUSY_TIMEOUT_MS } from './db/sqlite-busy.js';
import { DEFAULT_MAX_ROWS, DEFAULT_RETENTION_MS } from './events/change-log.js';
import { parseOriginList } from './server/origin.js';
import { MIN_SIGNAL_TOKEN_LENGTH } from './server/signal-endpoint.js';
import type { DcrfLimits } from './dcrf/session.js';

/** Parses `24h`, `90m`, `30s`, `2d` or plain milliseconds. */
export function parseDuration(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) throw new Error(`Not a duration: "${text}" (e.g. 24h, 90m, 30s)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[(match[2] ?? 'ms') as 'ms'];
  return Number(match[1]) * unit;
}

export interface Config {
  host: string;
  port: number;
  databaseUrl: string;
  /** SQLite: how long a write waits for another connection's write lock (DATABASE_BUSY_TIMEOUT, e.g. `5s`, the default; `0` = fail at once). */
  databaseBusyTimeoutMs: number;
  redisUrl: string | undefined;
  /** Redis channel prefix (REDIS_PREFIX): gateways sharing one Redis and one prefix share events. */
  redisPrefix: string | undefined;
  allowedOrigins: string[];
  /** Origins browsers reach the gateway at (PUBLIC_ORIGIN, comma list): same-origin for the Origin check; their hosts are served. */
  publicOrigins: string[];
  /** More Host values served (ALLOWED_HOSTS, comma list of `name` or `name:port`; `*` = any). */
  allowedHosts: string[];
  /** Sockets per client IP (MAX_SOCKETS_PER_IP); undefined = the gateway's default (256), 0 = no cap. */
  maxSocketsPerIp: number | undefined;
  /** Sockets in all (MAX_SOCKETS); undefined = the gateway's default (10,000), 0 = no cap. */
  maxSockets: number | undefined;
  /** Bearer token of `POST /signals/<name>` (SIGNAL_TOKEN, 32 characters or more); undefined = the endpoint is off. */
  signalToken: string | undefined;
  /** Bearer token `/metrics` asks for (METRICS_TOKEN); undefined = none asked. */
  metricsToken: string | undefined;
  /** A port of its own for `/metrics` (METRICS_PORT, on METRICS_HOST, default 127.0.0.1); undefined = the public port. */
  metricsPort: number | undefined;
  metricsHost: string | undefined;
  /** How long a shutdown lets work under way finish (SHUTDOWN_GRACE_MS); undefined = the gateway's default (10 s). */
  shutdownGraceMs: number | undefined;
  /** The secret tokens are derived with (TOKEN_SECRET); undefined = read from (or made in) `tokenSecretFile`. */
  tokenSecret: string | undefined;
  /** Where the token secret is kept when TOKEN_SECRET is unset (TOKEN_SECRET_FILE, default ./data/token-secret). */
  tokenSecretFile: string;
  /** Largest inbound frame in bytes (MAX_FRAME_BYTES); undefined = the gateway's default (1 MiB). */
  maxFrameBytes: number | undefined;
  /** Per-socket DCRF limits set in the environment; the rest keep their defaults. */
  limits: Partial<DcrfLimits>;
  /** How long the change log keeps entries, in ms (CHANGE_LOG_RETENTION: `24h`, `90m`, `30s`, `2d` or ms; default 24 h). */
  changeLogRetentionMs: number;
  /** How many entries the change log keeps at most (CHANGE_LOG_MAX_ROWS, default 1,000,000). */
  changeLogMaxRows: number;
}

/** Environment variables of the per-socket limits (docs/dcrf-protocol.md). */
const LIMIT_VARIABLES: Record<string, keyof DcrfLimits> = {
  RATE_LIMIT_PER_SECOND: 'ratePerSecond',
  RATE_LIMIT_BURST: 'rateBurst',
  THROTTLE_CLOSE_MS: 'throttleCloseMs',
  MAX_SUBSCRIPTIONS_PER_SOCKET: 'maxSubscriptions',
  MAX_BUFFERED_BYTES: 'maxBufferedBytes',
  MAX_JSON_DEPTH: 'maxDepth',
  MAX_KEY_BYTES: 'maxKeyBytes',
  MAX_RETAINED_BYTES: 'maxRetainedBytes',
  MAX_DETACHED_ACTIONS: 'maxDetachedActions',
  PING_INTERVAL_MS: 'pingIntervalMs',
};

/**
 * Every environment variable the configuration reads (the CLI offers each as a flag in kebab case).
 * A variable read in `loadConfig` belongs here too, or its flag is refused as unknown.
 */
export const CONFIG_VARIABLES: readonly string[] = [
  'HOST',
  'PORT',
  'DATABASE_URL',
  'DATABASE_BUSY_TIMEOUT',
  'REDIS_URL',
  'REDIS_PREFIX',
  'ALLOWED_ORIGINS',
  'PUBLIC_ORIGIN',
  'ALLOWED_HOSTS',
  'MAX_SOCKETS_PER_IP',
  'MAX_SOCKETS',
  'METRICS_TOKEN',
  'SIGNAL_TOKEN',
  'METRICS_PORT',
  'METRICS_HOST',
  'SHUTDOWN_GRACE_MS',
  'SHUTDOWN_TIMEOUT_MS',
  'TOKEN_SECRET',
  'TOKEN_SECRET_FILE',
  'MAX_FRAME_BYTES',
  'CHANGE_LOG_RETENTION',
  'CHANGE_LOG_MAX_ROWS',
  ...Object.keys(LIMIT_VARIABLES),
];

/** Where the token secret is kept when TOKEN_SECRET is unset. */
export const DEFAULT_TOKEN_SECRET_FILE = './data/token-secret';

function numberOr(value: string | undefined, fallback: number | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${name} must be a whole number (got "${value}")`);
  return parsed;
}

/** SIGNAL_TOKEN, refused when it is short enough to guess. */
function signalTokenOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (value.length < MIN_SIGNAL_TOKEN_LENGTH)
    throw new Error(`SIGNAL_TOKEN (--signal-token) must be at least ${MIN_SIGNAL_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`);
  return value;
}

function durationOf(value: string | undefined, fallback: number, name: string): number {
  try {
    return parseDuration(value, fallback);
  } catch {
    throw new Error(`${name} (--${name.toLowerCase().replace(/_/g, '-')}) must be a duration such as 5s, 500ms or 0 (got "${value}")`);
  }
}

/** Reads the configuration from an environment (and flags folded into it). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  return {
    host: env.HOST || '127.0.0.1',
    port: numberOr(env.PORT, 8000, 'PORT')!,
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    databaseBusyTimeoutMs: durationOf(env.DATABASE_BUSY_TIMEOUT, DEFAULT_BUSY_TIMEOUT_MS, 'DATABASE_BUSY_TIMEOUT'),
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX || undefined,
    allowedOrigins: parseOriginList(env.ALLOWED_ORIGINS),
    publicOrigins: parseOriginList(env.PUBLIC_ORIGIN),
    allowedHosts: parseOriginList(env.ALLOWED_HOSTS),
    maxSocketsPerIp: numberOr(env.MAX_SOCKETS_PER_IP, undefined, 'MAX_SOCKETS_PER_IP'),
    maxSockets: numberOr(env.MAX_SOCKETS, undefined, 'MAX_SOCKETS'),
    metricsToken: env.METRICS_TOKEN || undefined,
    signalToken: signalTokenOf(env.SIGNAL_TOKEN),
    metricsPort: numberOr(env.METRICS_PORT, undefined, 'METRICS_PORT'),
    metricsHost: env.METRICS_HOST || undefined,
    shutdownGraceMs: numberOr(env.SHUTDOWN_GRACE_MS, undefined, 'SHUTDOWN_GRACE_MS'),
    tokenSecret: env.TOKEN_SECRET || undefined,
    tokenSecretFile: env.TOKEN_SECRET_FILE || DEFAULT_TOKEN_SECRET_FILE,
    maxFrameBytes: numberOr(env.MAX_FRAME_BYTES, undefined, 'MAX_FRAME_BYTES'),
    limits: limitsFrom(env),
    ...changeLogSettings(env),
  };
}

/**
 * The change log's retention settings (CHANGE_LOG_RETENTION, CHANGE_LOG_MAX_ROWS); throws a message
 * naming the variable and its flag for a value that is not one.
 */
export function changeLogSettings(env: Record<string, string | undefined>): Pick<Config, 'changeLogRetentionMs' | 'changeLogMaxRows'> {
  let changeLogRetentionMs: number;
  try {
    changeLogRetentionMs = parseDuration(env.CHANGE_LOG_RETENTION?.trim() || undefined, DEFAULT_RETENTION_MS);
  } catch {
    throw new Error(
      `CHANGE_LOG_RETENTION (--change-log-retention) must be a duration: 24h, 90m, 30s, 2d or milliseconds (got "${env.CHANGE_LOG_RETENTION}")`,
    );
  }
  const rows = env.CHANGE_LOG_MAX_ROWS?.trim();
  const changeLogMaxRows = rows ? Number(rows) : DEFAULT_MAX_ROWS;
  if (!/^\d+$/.test(rows ?? '0') || !Number.isSafeInteger(changeLogMaxRows))
    throw new Error(`CHANGE_LOG_MAX_ROWS (--change-log-max-rows) must be a whole number ≥ 0 (got "${env.CHANGE_LOG_MAX_ROWS}")`);
  return { changeLogRetentionMs, changeLogMaxRows };
}

function limitsFrom(env: Record<string, string | undefined>): Partial<DcrfLimits> {
  const limits: Partial<DcrfLimits> = {};
  for (const [variable, key] of Object.entries(LIMIT_VARIABLES)) {
    const value = numberOr(env[variable], undefined, variable);
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}
