/**
 * Assembles the demo app: database, migrations, the runtime (change hub, fast reads), gateway with the
 * demo's streams.
 */
import type { Knex } from 'knex';
import { Model } from 'objection';
import type { Config } from '../config.js';
import { openDatabase } from '../db/knex.js';
import { migrate } from '../db/migrations.js';
import { changeLogMigration } from '../events/change-log.js';
import { Gateway, type GatewayOptions, type HttpRoute } from '../server/gateway.js';
import { TokenAuthenticator } from './auth.js';
import { demoStreams } from './consumers.js';
import { initial } from './migrations/0001-initial.js';
import { notes } from './migrations/0002-notes.js';
import { tokenHash } from './migrations/0003-token-hash.js';
import { products } from './migrations/0004-products.js';
import type { HubHandle } from '../events/hub-handle.js';
import { Runtime, type RuntimeOptions } from '../runtime.js';
import { streamsRoute } from '../server/describe.js';
import { playgroundRoute } from '../server/playground.js';
import { createDemoGraphQLAdapter } from './graphql.js';

/** The demo's migrations, in order. */
export const demoMigrations = [initial, notes, tokenHash, products, changeLogMigration];

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
  const knex = openDatabase(databaseUrl);
  Model.knex(knex);
  await migrate(knex, demoMigrations);
  return knex;
}

/** Starts the demo app on `config.host`:`config.port` (0 = any free port). */
export async function startDemo(config: Config, options: DemoOptions = {}): Promise<DemoApp> {
  const knex = await openDemoDatabase(config.databaseUrl);
  let runtime: Runtime;
  try {
    runtime = await Runtime.create({ knex, redisUrl: config.redisUrl, redisPrefix: config.redisPrefix, ...options.runtime });
  } catch (error) {
    await knex.destroy();
    throw error;
  }
  const authenticator = new TokenAuthenticator();
  const gateway = new Gateway({
    runtime,
    streams: demoStreams,
    authenticator,
    graphql: createDemoGraphQLAdapter({ authenticator }),
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
    ...options.gateway,
    routes: [streamsRoute(demoStreams), playgroundRoute(), ...(options.routes ?? []), ...(options.gateway?.routes ?? [])],
  });
  const port = await gateway.listen(config.port, config.host);
  return {
    gateway,
    knex,
    port,
    url: `http://${config.host}:${port}`,
    runtime,
    hub: runtime,
    async close() {
      // Graceful: refuse new work (503), let actions, operations and requests under way answer
      // (SHUTDOWN_GRACE_MS at most), close sockets (1001); let running transactions finish (the pool
      // waits for connections in use), publish what their commits owe, then close the PubSub.
      await gateway.close();
      await knex.destroy();
      await new Promise((resolve) => setImmediate(resolve));
      await runtime.close();
    },
  };
}
