/**
 * Assembles the demo app: database, migrations, change hub, gateway with the demo's streams.
 */
import type { Knex } from 'knex';
import { Model } from 'objection';
import type { Config } from '../config.js';
import { openDatabase } from '../db/knex.js';
import { FastReader } from '../db/fast-read.js';
import { migrate } from '../db/migrations.js';
import { configureFastReads } from '../resources/resource.js';
import { Gateway, type GatewayOptions, type HttpRoute } from '../server/gateway.js';
import { TokenAuthenticator } from './auth.js';
import { demoStreams } from './consumers.js';
import { initial } from './migrations/0001-initial.js';
import { createHubFor, type HubHandle } from '../events/pubsub.js';
import { setChangeHub } from '../events/current.js';
import { streamsRoute } from '../server/describe.js';

/** The demo's migrations, in order. */
export const demoMigrations = [initial];

export interface DemoApp {
  gateway: Gateway;
  knex: Knex;
  port: number;
  url: string;
  close(): Promise<void>;
}

export interface DemoOptions {
  /** More gateway options (a GraphQL adapter, extra routes, limits). */
  gateway?: Partial<GatewayOptions>;
  routes?: HttpRoute[];
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
  configureFastReads(FastReader.forKnex(knex));
  const hub: HubHandle = await createHubFor(config.redisUrl);
  setChangeHub(hub.hub);
  const gateway = new Gateway({
    streams: demoStreams,
    authenticator: new TokenAuthenticator(),
    allowedOrigins: config.allowedOrigins,
    maxSocketsPerIp: config.maxSocketsPerIp,
    health: async () => {
      await knex.raw('select 1');
      return hub.healthy();
    },
    ...options.gateway,
    routes: [streamsRoute(demoStreams), ...(options.routes ?? []), ...(options.gateway?.routes ?? [])],
  });
  const port = await gateway.listen(config.port, config.host);
  return {
    gateway,
    knex,
    port,
    url: `http://${config.host}:${port}`,
    async close() {
      await gateway.close();
      await hub.close();
      configureFastReads(undefined);
      await knex.destroy();
    },
  };
}
