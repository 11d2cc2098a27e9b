#!/usr/bin/env node
/**
 * dcrf-gateway serve | migrate | createtoken <username> | help [command], with flags (see cli-args.ts).
 */
import { readFileSync } from 'node:fs';
import { parseCommandLine, usage } from './cli-args.js';
import { loadConfig } from './config.js';
import { issueToken } from './demo/auth.js';
import { openDemoDatabase, startDemo } from './demo/app.js';
import { loadTokenSecret } from './demo/token-secret.js';
import { logger } from './logger.js';
import { DEFAULT_SHUTDOWN_GRACE_MS } from './server/gateway.js';

async function main(argv: string[]): Promise<number> {
  const invocation = parseCommandLine(argv, process.env);
  switch (invocation.kind) {
    case 'error':
      process.stderr.write(`dcrf-gateway: ${invocation.message}\nRun "dcrf-gateway --help" for the commands and flags.\n`);
      return 2;
    case 'help':
      process.stdout.write(usage(invocation.command));
      return 0;
    case 'version':
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
  }
  const { command, args, env } = invocation;
  if (env.LOG_LEVEL !== undefined) {
    process.env.LOG_LEVEL = env.LOG_LEVEL;
    logger.reconfigure();
  }
  const config = loadConfig(env);
  switch (command) {
    case 'serve': {
      const app = await startDemo(config);
      if (isWildcard(config.host) && config.publicOrigins.length === 0 && config.allowedHosts.length === 0) {
        logger.warn('HOST listens on every address but only loopback Host names are served: set PUBLIC_ORIGIN or ALLOWED_HOSTS', {
          host: config.host,
        });
      }
      logger.info('dcrf-gateway listening', {
        http: app.url,
        dcrf: `ws://${config.host}:${app.port}/ws`,
        graphql: `${app.url}/graphql`,
        playground: `${app.url}/playground`,
        ...(app.gateway.metricsPort !== undefined
          ? { metrics: `http://${config.metricsHost ?? '127.0.0.1'}:${app.gateway.metricsPort}/metrics` }
          : {}),
        database: config.databaseUrl.replace(/\/\/[^@/]*@/, '//***@'),
        pubsub: config.redisUrl ? 'redis' : 'in-process',
      });
      let stopping = false;
      // Graceful: refuse new work (503), let work under way answer (SHUTDOWN_GRACE_MS), close sockets
      // with 1001, let running transactions commit and publish their events, close the PubSub and the
      // pool. A second signal, or a shutdown that hangs past SHUTDOWN_TIMEOUT_MS (default: the grace
      // and 10 s more), exits at once.
      const stop = (signal: string) => {
        if (stopping) {
          logger.warn('second signal: exiting without waiting', { signal });
          process.exit(1);
        }
        stopping = true;
        logger.info('shutting down', { signal });
        const timeoutMs = Number(env.SHUTDOWN_TIMEOUT_MS) || (config.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS) + 10_000;
        setTimeout(() => {
          logger.error('shutdown timed out', { timeoutMs });
          process.exit(1);
        }, timeoutMs).unref();
        app.close().then(
          () => {
            logger.info('stopped', { lostEvents: app.runtime.hub.stats.lost });
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
      const username = args[0] as string;
      const secret = loadTokenSecret(config.tokenSecret, config.tokenSecretFile);
      const knex = await openDemoDatabase(config.databaseUrl);
      try {
        const { token, replaced } = await issueToken(username, secret);
        if (replaced)
          process.stderr.write(
            `${username}'s earlier token cannot be shown again (stored before tokens were hashed, or under another secret): it was replaced\n`,
          );
        process.stdout.write(`${token}\n`);
      } finally {
        await knex.destroy();
      }
      return 0;
    }
    case 'help':
      process.stdout.write(usage());
      return 0;
  }
}

/** This package's version, from its package.json (two levels up from dist/src and from src). */
function packageVersion(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'dcrf-gateway' && manifest.version) return manifest.version;
    } catch {
      // Not at this level: try the next.
    }
  }
  return 'unknown';
}

/** Whether a listen address is every address of the machine rather than one of its names. */
function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
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
