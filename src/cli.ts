#!/usr/bin/env node
/**
 * dcrf-gateway serve | migrate | createtoken <username>
 */
import { applyFlags, loadConfig } from './config.js';
import { createToken } from './demo/auth.js';
import { openDemoDatabase, startDemo } from './demo/app.js';
import { logger } from './logger.js';

const USAGE = `usage: dcrf-gateway <command> [--flags]

commands:
  serve                 run pending migrations, then serve the demo app (HOST, PORT)
  migrate               run pending migrations
  createtoken <user>    print a token for <user> (created with <user>@example.com if missing)

flags (or environment variables of the same name in upper case):
  --host --port --database-url --redis-url --allowed-origins --max-sockets-per-ip
`;

async function main(argv: string[]): Promise<number> {
  const { env, rest } = applyFlags(argv, process.env);
  const [command, ...args] = rest;
  const config = loadConfig(env);
  switch (command) {
    case 'serve': {
      const app = await startDemo(config);
      logger.info('dcrf-gateway listening', {
        http: app.url,
        dcrf: `ws://${config.host}:${app.port}/ws`,
        graphql: `${app.url}/graphql`,
        playground: `${app.url}/playground`,
        database: config.databaseUrl.replace(/\/\/[^@/]*@/, '//***@'),
        pubsub: config.redisUrl ? 'redis' : 'in-process',
      });
      let stopping = false;
      // Graceful: stop accepting, close sockets with 1001, let running transactions commit and
      // publish their events, close the PubSub and the pool. A second signal, or a shutdown that
      // hangs past SHUTDOWN_TIMEOUT_MS, exits at once.
      const stop = (signal: string) => {
        if (stopping) {
          logger.warn('second signal: exiting without waiting', { signal });
          process.exit(1);
        }
        stopping = true;
        logger.info('shutting down', { signal });
        const timeoutMs = Number(process.env.SHUTDOWN_TIMEOUT_MS) || 10_000;
        setTimeout(() => {
          logger.error('shutdown timed out', { timeoutMs });
          process.exit(1);
        }, timeoutMs).unref();
        app.close().then(
          () => {
            logger.info('stopped', { lostEvents: app.hub.hub.stats.lost });
            process.exit(0);
          },
          (error: unknown) => {
            logger.error('shutdown failed', { error: String(error) });
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      return -1;
    }
    case 'migrate': {
      const knex = await openDemoDatabase(config.databaseUrl);
      await knex.destroy();
      logger.info('migrations applied', { database: config.databaseUrl.replace(/\/\/[^@/]*@/, '//***@') });
      return 0;
    }
    case 'createtoken': {
      const username = args[0];
      if (!username) {
        process.stderr.write('usage: dcrf-gateway createtoken <username>\n');
        return 2;
      }
      const knex = await openDemoDatabase(config.databaseUrl);
      try {
        process.stdout.write((await createToken(username)) + '\n');
      } finally {
        await knex.destroy();
      }
      return 0;
    }
    default:
      process.stderr.write(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`dcrf-gateway: ${(error as Error)?.message ?? String(error)}\n`);
    process.exit(1);
  },
);
