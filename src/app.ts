/**
 * `createApp`: one call that starts an app the way the demo starts, so an app of your own needs no
 * wiring of its own: the database (a URL or your knex), its migrations with the change log's, models
 * bound to it, the runtime (change hub, fast reads, PubSub), the gateway with its health, metrics,
 * streams description and playground, GraphQL when given a schema, and a graceful shutdown.
 *
 *   const app = await createApp({ database: 'sqlite:./data/todos.sqlite3', streams, migrations });
 *   await app.listen({ port: 8000 });
 *
 * Settings the options leave out come from the environment (`loadConfig`: DATABASE_URL, REDIS_URL,
 * HOST, PORT, the origins, limits and metrics settings), which the CLI's flags set.
 */
import type { GraphQLSchema } from 'graphql';
import type { Knex } from 'knex';
import { Model } from 'objection';
import type { Authenticator } from './auth/authenticator.js';
import { type Config, loadConfig } from './config.js';
import type { ConsumerClass } from './dcrf/consumer.js';
import { refuseIdentifierMappers } from './db/connection.js';
import { DEFAULT_DATABASE_URL, openDatabase } from './db/knex.js';
import { type Migration, migrate } from './db/migrations.js';
import { changeLogMigration, changeLogRowidMigration } from './events/change-log.js';
import { createGraphQLAdapter, type GraphQLAdapterOptions } from './graphql/adapter.js';
import { buildGraphQLSchema, type SchemaDeclaration } from './graphql/bind.js';
import type { GraphQLAdapter } from './graphql/gateway-adapter.js';
import { type Logger, logger, setLogger } from './logger.js';
import { Runtime, type RuntimeOptions } from './runtime.js';
import { streamsRoute } from './server/describe.js';
import { DEFAULT_SHUTDOWN_GRACE_MS, Gateway, type GatewayOptions, type HttpRoute } from './server/gateway.js';
import { playgroundRoute } from './server/playground.js';
import type { SignalEndpointOptions } from './server/signal-endpoint.js';

/** An authenticator that can also issue tokens: what `dcrf-gateway createtoken <username>` calls. */
export interface TokenIssuer extends Authenticator {
  /** A token for `username` (creating the user when your app does that), printed by `createtoken`. */
  createToken(username: string): Promise<string>;
}

/** What `createApp` takes. Everything but `streams` is optional. */
export interface AppOptions {
  /**
   * The database: `sqlite:<file>`, `sqlite::memory:` or `postgres://...`. Default: DATABASE_URL, else
   * `sqlite:./data/app.sqlite3` for an app with migrations; an app with none of these runs without a
   * database (streams without models).
   */
  database?: string;
  /** A knex instance of your own instead of `database` (the app migrates it but never destroys it). */
  knex?: Knex;
  /** `redis://...` to share events between processes. Default: REDIS_URL, else in-process. */
  redis?: string;
  /** Redis channel prefix. Default: REDIS_PREFIX, else `dcrf-gateway:`. */
  redisPrefix?: string;
  /** DCRF streams: `/ws/<name>` serves one, `/ws` multiplexes them all. */
  streams: Record<string, ConsumerClass>;
  /**
   * Your migrations, applied in name order before the app serves. `changeLogMigration` and
   * `changeLogRowidMigration` (positions and resume) are added when missing, unless `changeLog: false`.
   */
  migrations?: Migration[];
  /** Whether to add the change log's migrations to the migrations (default true). */
  changeLog?: boolean;
  /** Turns tokens into users; give it a `createToken(username)` for the `createtoken` command. */
  authenticator?: Authenticator | TokenIssuer;
  /** A GraphQL schema served on `/graphql` (HTTP and both WebSocket subprotocols), or its SDL and resolvers. */
  schema?: GraphQLSchema | SchemaDeclaration;
  /** GraphQL settings for `schema` (limits, cache, keep-alive); the authenticator is the app's. */
  graphqlOptions?: Omit<GraphQLAdapterOptions, 'schema' | 'authenticator'>;
  /** A GraphQL adapter of your own, instead of `schema`. */
  graphql?: GraphQLAdapter;
  /** More HTTP routes, tried before the built-in ones. */
  routes?: HttpRoute[];
  /** Whether to serve `/api/streams` and the playground (default true). */
  playground?: boolean;
  /** More gateway options over the environment's (limits, origins, metrics, health, shutdown grace). */
  gateway?: Partial<Omit<GatewayOptions, 'runtime' | 'streams' | 'authenticator' | 'graphql'>>;
  /** More runtime options (a PubSub engine of your own, change-log retention). */
  runtime?: Omit<RuntimeOptions, 'knex' | 'redisUrl' | 'redisPrefix'>;
  /** The settings the options leave out. Default: `loadConfig(process.env)`. */
  config?: Config;
  /**
   * Where every record of the library goes (pino's shape: `pino()` fits). Process-wide, like
   * `setLogger`: the last app created with one decides. Default: JSON lines on stderr at LOG_LEVEL.
   */
  logger?: Logger;
  /**
   * Custom signals other services may send with `POST /signals/<name>` (`GatewayOptions.signals`); the
   * bearer token defaults to SIGNAL_TOKEN, and without a token the endpoint is off.
   */
  signals?: Omit<SignalEndpointOptions, 'token'> & { token?: string };
}

/** Where `listen` listens. */
export interface ListenOptions {
  /** Default: PORT, else 8000; 0 picks a free port. */
  port?: number;
  /** Default: HOST, else 127.0.0.1. */
  host?: string;
  /**
   * On SIGTERM or SIGINT: close gracefully (work under way answers, sockets close 1001, commits
   * publish) and exit the process with 0; a second signal, or a close that takes longer than
   * `shutdownTimeoutMs`, exits with 1 at once. Default false (the process is yours).
   */
  shutdownOnSignals?: boolean;
  /** Default: SHUTDOWN_TIMEOUT_MS, else the shutdown grace and 10 s more. */
  shutdownTimeoutMs?: number;
}

/** A started app (`createApp`): migrated and ready, serving once `listen` resolves. */
export interface App {
  readonly runtime: Runtime;
  readonly gateway: Gateway;
  /** The app's database (undefined for an app without one). */
  readonly knex: Knex | undefined;
  /** The settings the app was made with. */
  readonly config: Config;
  /** The bound port, once listening. */
  readonly port: number | undefined;
  /** `http://host:port`, once listening. */
  readonly url: string | undefined;
  /** Starts serving; resolves with the bound port and the app's URL. */
  listen(options?: ListenOptions): Promise<{ port: number; url: string }>;
  /** Graceful close: the gateway (work under way answers), then the database (commits publish), then the runtime. */
  close(): Promise<void>;
}

/**
 * What an app module's default export may be (`dcrf-gateway serve ./dist/app.js`): the options, a
 * function returning them or an app, or an app made by `createApp` and not listening yet.
 */
export type AppModuleExport = AppOptions | App | (() => AppOptions | App | Promise<AppOptions | App>);

/** Types an app module's default export (`export default defineApp({...})`): the options, unchanged. */
export function defineApp(options: AppOptions): AppOptions {
  return options;
}

/** A database opened for an app: migrated, its models bound. `close()` destroys it when the app opened it. */
export interface AppDatabase {
  knex: Knex;
  /** The migrations applied now (names). */
  applied: string[];
  close(): Promise<void>;
}

/**
 * Opens the app's database, applies its pending migrations (with the change log's) and binds
 * Objection's models to it (`Model.knex`): what `createApp` and the CLI's `migrate` and `createtoken`
 * do first. Undefined for an app without a database.
 */
export async function openAppDatabase(
  options: AppOptions,
  config: Config = options.config ?? loadConfig(process.env),
): Promise<AppDatabase | undefined> {
  const url = options.knex ? undefined : databaseUrlOf(options, config);
  if (!options.knex && url === undefined) return undefined;
  const knex = options.knex ?? openDatabase(url as string, { busyTimeoutMs: config.databaseBusyTimeoutMs });
  const owned = !options.knex;
  if (options.knex) refuseIdentifierMappers(options.knex, 'createApp');
  try {
    const applied = await migrate(knex, migrationsOf(options));
    // A model without a knex of its own writes through this one (and its hooks find the runtime by it).
    Model.knex(knex);
    return { knex, applied, close: async () => (owned ? knex.destroy() : undefined) };
  } catch (error) {
    if (owned) await knex.destroy();
    throw error;
  }
}

/** Creates the app: database, migrations, runtime, gateway. Call `listen` to serve. */
export async function createApp(options: AppOptions): Promise<App> {
  checkOptions(options);
  if (options.logger) setLogger(options.logger);
  const config = options.config ?? loadConfig(process.env);
  const database = await openAppDatabase(options, config);
  let runtime: Runtime;
  try {
    runtime = await Runtime.create({
      knex: database?.knex,
      redisUrl: options.redis ?? config.redisUrl,
      redisPrefix: options.redisPrefix ?? config.redisPrefix,
      changeLogRetentionMs: config.changeLogRetentionMs,
      changeLogMaxRows: config.changeLogMaxRows,
      ...options.runtime,
    });
  } catch (error) {
    await database?.close();
    throw error;
  }
  let gateway: Gateway;
  try {
    gateway = new Gateway({
      runtime,
      streams: options.streams,
      authenticator: options.authenticator,
      graphql: graphqlOf(options),
      ...gatewaySettings(config),
      ...signalsOf(options, config),
      ...options.gateway,
      // The limits the code sets override the environment's one by one, not as a whole.
      limits: { ...config.limits, ...options.gateway?.limits },
      routes: [
        ...(options.routes ?? []),
        ...(options.gateway?.routes ?? []),
        ...(options.playground === false ? [] : [streamsRoute(options.streams), playgroundRoute()]),
      ],
    });
  } catch (error) {
    // A gateway refused at construction (a bad option) leaves nothing open behind it.
    await runtime.close();
    await database?.close();
    throw error;
  }
  const summary = {
    database: database ? (options.knex ? 'knex' : withoutPassword(databaseUrlOf(options, config) as string)) : 'none',
    pubsub: options.runtime?.pubsub ? 'custom' : (options.redis ?? config.redisUrl) ? 'redis' : 'in-process',
    playground: options.playground !== false,
  };
  return new StartedApp(runtime, gateway, database, config, summary);
}

class StartedApp implements App {
  port: number | undefined;
  url: string | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    readonly runtime: Runtime,
    readonly gateway: Gateway,
    private readonly database: AppDatabase | undefined,
    readonly config: Config,
    /** What the listening line tells about the app's database and PubSub. */
    private readonly summary: { database: string; pubsub: string; playground: boolean },
  ) {}

  get knex(): Knex | undefined {
    return this.database?.knex;
  }

  async listen(options: ListenOptions = {}): Promise<{ port: number; url: string }> {
    if (this.port !== undefined) throw new Error(`app.listen: the app listens already, on ${this.url}`);
    const host = options.host ?? this.config.host;
    this.port = await this.gateway.listen(options.port ?? this.config.port, host);
    // Before the listening line: whoever waits for it may signal at once, and must get a graceful stop.
    if (options.shutdownOnSignals) this.#exitOnSignals(options.shutdownTimeoutMs);
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
    this.url = url;
    if (isWildcard(host) && this.config.publicOrigins.length === 0 && this.config.allowedHosts.length === 0) {
      logger.warn('HOST listens on every address but only loopback Host names are served: set PUBLIC_ORIGIN or ALLOWED_HOSTS', { host });
    }
    logger.info('dcrf-gateway listening', {
      http: url,
      dcrf: `${url.replace(/^http/, 'ws')}/ws`,
      ...(this.gateway.options.graphql ? { graphql: `${url}/graphql` } : {}),
      ...(this.summary.playground ? { playground: `${url}/playground` } : {}),
      ...(this.gateway.metricsPort !== undefined
        ? { metrics: `http://${this.config.metricsHost ?? '127.0.0.1'}:${this.gateway.metricsPort}/metrics` }
        : {}),
      database: this.summary.database,
      pubsub: this.summary.pubsub,
      changeLog: changeLogSummary(this.runtime),
    });
    return { port: this.port, url };
  }

  close(): Promise<void> {
    // Graceful: refuse new work (503), let actions, operations and requests under way answer (the
    // shutdown grace at most), close sockets (1001); let running transactions finish (the pool waits
    // for connections in use), publish what their commits owe, then close the PubSub.
    this.#closing ??= (async () => {
      await this.gateway.close();
      await this.database?.close();
      await new Promise((resolve) => setImmediate(resolve));
      await this.runtime.close();
    })();
    return this.#closing;
  }

  #exitOnSignals(timeoutOption: number | undefined): void {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn('second signal: exiting without waiting', { signal });
        process.exit(1);
      }
      stopping = true;
      logger.info('shutting down', { signal });
      const timeoutMs =
        timeoutOption ?? (Number(process.env.SHUTDOWN_TIMEOUT_MS) || (this.config.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS) + 10_000);
      setTimeout(() => {
        logger.error('shutdown timed out', { timeoutMs });
        process.exit(1);
      }, timeoutMs).unref();
      this.close().then(
        () => {
          logger.info('stopped', { lostEvents: this.runtime.hub.stats.lost });
          process.exit(0);
        },
        (error: unknown) => {
          logger.error('shutdown failed', { error: String(error) });
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  }
}

/** Refuses options that cannot make an app, naming the fix, before anything is opened. */
function checkOptions(options: AppOptions): void {
  if (!options || typeof options !== 'object')
    throw new TypeError('createApp: pass the app options ({ streams, migrations, database, ... })');
  if (!options.streams || typeof options.streams !== 'object') {
    throw new TypeError('createApp: `streams` is missing: pass { name: ConsumerClass, ... } (an empty object for a GraphQL-only app)');
  }
  for (const [name, consumer] of Object.entries(options.streams)) {
    if (typeof consumer !== 'function') throw new TypeError(`createApp: stream "${name}" is not a consumer class`);
  }
  if (options.database !== undefined && options.knex !== undefined) throw new TypeError('createApp: pass `database` or `knex`, not both');
  if (options.schema !== undefined && options.graphql !== undefined) throw new TypeError('createApp: pass `schema` or `graphql`, not both');
  if (options.migrations !== undefined && !Array.isArray(options.migrations)) {
    throw new TypeError('createApp: `migrations` must be a list of { name, up(knex) }');
  }
}

/** Where an app keeps its data when neither its options nor DATABASE_URL say. */
export const DEFAULT_APP_DATABASE_URL = 'sqlite:./data/app.sqlite3';

/**
 * The app's database URL: its own, else the settings' (given, or DATABASE_URL), else the default file
 * for an app with migrations; none for an app without any (streams without models).
 */
function databaseUrlOf(options: AppOptions, config: Config): string | undefined {
  if (options.database !== undefined) return options.database;
  // The configuration's default is the demo's file: an app gets its own, and only when it has tables.
  const configured = options.config ? options.config.databaseUrl !== DEFAULT_DATABASE_URL : Boolean(process.env.DATABASE_URL);
  if (configured) return config.databaseUrl;
  return options.migrations?.length ? DEFAULT_APP_DATABASE_URL : undefined;
}

/** The app's migrations, with the change log's unless turned off. */
function migrationsOf(options: AppOptions): Migration[] {
  const migrations = options.migrations ?? [];
  if (options.changeLog === false) return migrations;
  const listed = new Set(migrations.map((migration) => migration.name));
  return [...migrations, ...[changeLogMigration, changeLogRowidMigration].filter((migration) => !listed.has(migration.name))];
}

function graphqlOf(options: AppOptions): GraphQLAdapter | undefined {
  if (options.graphql) return options.graphql;
  if (!options.schema) return undefined;
  const schema = 'typeDefs' in options.schema ? buildGraphQLSchema(options.schema as SchemaDeclaration) : options.schema;
  return createGraphQLAdapter({ ...options.graphqlOptions, schema: schema as GraphQLSchema, authenticator: options.authenticator });
}

/** The gateway options the environment's settings give. */
function gatewaySettings(config: Config): Partial<GatewayOptions> {
  return {
    allowedOrigins: config.allowedOrigins,
    publicOrigins: config.publicOrigins,
    allowedHosts: config.allowedHosts,
    maxSocketsPerIp: config.maxSocketsPerIp,
    maxSockets: config.maxSockets,
    metricsToken: config.metricsToken,
    metricsPort: config.metricsPort,
    metricsHost: config.metricsHost,
    shutdownGraceMs: config.shutdownGraceMs,
    maxFrameBytes: config.maxFrameBytes,
    limits: config.limits,
  };
}

/** A database URL fit for a log line: its password hidden. */
function withoutPassword(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** Whether a listen address is every address of the machine rather than one of its names. */
function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** The change log as the listening line tells it: its retention as the runtime applies it, or off. */
function changeLogSummary(runtime: Runtime): string {
  const log = runtime.changeLog;
  return log.enabled ? `kept ${log.retentionMs} ms, at most ${log.maxRows} entries` : 'off (no positions)';
}

/** The signal endpoint's options: the app's `signals`, its token from the options or SIGNAL_TOKEN. */
function signalsOf(options: AppOptions, config: Config): Pick<GatewayOptions, 'signals'> {
  if (!options.signals) return {};
  return { signals: { ...options.signals, token: options.signals.token ?? config.signalToken } };
}
