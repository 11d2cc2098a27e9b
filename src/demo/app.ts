/**
 * The demo app: `createApp` with the demo's streams, migrations, authenticator and GraphQL schema (the
 * demo is one app like any other).
 */
import type { Knex } from 'knex';
import { type AppOptions, createApp, openAppDatabase, type TokenIssuer } from '../app.js';
import type { Config } from '../config.js';
import { changeLogMigration, changeLogRowidMigration } from '../events/change-log.js';
import type { Gateway, GatewayOptions, HttpRoute } from '../server/gateway.js';
import { issueToken, TokenAuthenticator } from './auth.js';
import { demoStreams } from './consumers.js';
import { initial } from './migrations/0001-initial.js';
import { notes } from './migrations/0002-notes.js';
import { tokenHash } from './migrations/0003-token-hash.js';
import { products } from './migrations/0004-products.js';
import { capture } from './migrations/0005-capture.js';
import type { HubHandle } from '../events/hub-handle.js';
import type { Runtime, RuntimeOptions } from '../runtime.js';
import { createDemoGraphQLAdapter } from './graphql.js';
import { demoSendableSignals } from './sendable-signals.js';
import { loadTokenSecret } from './token-secret.js';

/** The demo's migrations, in order. */
export const demoMigrations = [initial, notes, tokenHash, products, changeLogMigration, changeLogRowidMigration, capture];

export interface DemoApp {
  gateway: Gateway;
  knex: Knex;
  /** The app's runtime: its change hub (stats, topics), health. */
  runtime: Runtime;
  /** The runtime as a hub handle (`hub.hub` is `runtime.hub`), for callers written before the runtime. */
  hub: HubHandle;
  port: number;
  url: string;
  close(): Promise<void>;
}

export interface DemoOptions {
  /** More gateway options (a GraphQL adapter, extra routes, limits). */
  gateway?: Partial<GatewayOptions>;
  routes?: HttpRoute[];
  /** Runtime options over the configuration's (e.g. a PubSub engine of your own). */
  runtime?: Omit<RuntimeOptions, 'knex'>;
}

/** Opens the database and runs the demo's migrations. */
export async function openDemoDatabase(databaseUrl: string): Promise<Knex> {
  const database = await openAppDatabase({ database: databaseUrl, streams: demoStreams, migrations: demoMigrations });
  return (database as NonNullable<typeof database>).knex;
}

/**
 * The demo as `createApp` options: its streams, migrations, token authenticator (which also issues
 * tokens under the configuration's secret, for `createtoken`) and GraphQL schema.
 */
export function demoAppOptions(config: Config, options: DemoOptions = {}): AppOptions {
  const authenticator = new DemoTokens(() => loadTokenSecret(config.tokenSecret, config.tokenSecretFile));
  return {
    database: config.databaseUrl,
    streams: demoStreams,
    migrations: demoMigrations,
    authenticator,
    graphql: createDemoGraphQLAdapter({ authenticator }),
    routes: options.routes,
    signals: { signals: demoSendableSignals },
    gateway: options.gateway,
    runtime: options.runtime,
    config,
  };
}

/** Starts the demo app on `config.host`:`config.port` (0 = any free port). */
export async function startDemo(config: Config, options: DemoOptions = {}): Promise<DemoApp> {
  const app = await createApp(demoAppOptions(config, options));
  try {
    const { port, url } = await app.listen();
    return {
      gateway: app.gateway,
      knex: app.knex as Knex,
      port,
      url,
      runtime: app.runtime,
      hub: app.runtime,
      close: () => app.close(),
    };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/** The demo's authenticator, which also issues tokens (`createtoken`) under the app's secret. */
class DemoTokens extends TokenAuthenticator implements TokenIssuer {
  constructor(private readonly secret: () => string) {
    super();
  }

  async createToken(username: string): Promise<string> {
    const { token, replaced } = await issueToken(username, this.secret());
    if (replaced) {
      process.stderr.write(
        `${username}'s earlier token cannot be shown again (stored before tokens were hashed, or under another secret): it was replaced\n`,
      );
    }
    return token;
  }
}
