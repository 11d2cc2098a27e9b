#!/usr/bin/env node
/**
 * dcrf-gateway serve [app] | migrate [app] | createtoken <username> [--app app] | help [command], with
 * flags (see cli-args.ts). Without an app module: the demo app.
 */
import { readFileSync } from 'node:fs';
import type { AppOptions, TokenIssuer } from './app.js';
import { AppModuleError, type LoadedApp, loadAppModule, OWN_LIBRARY } from './app-module.js';
import type { Authenticator } from './auth/authenticator.js';
import { parseCommandLine, usage } from './cli-args.js';
import { type Config, loadConfig } from './config.js';
import { demoAppOptions } from './demo/app.js';
import { logger } from './logger.js';

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
  // Flags are environment variables in kebab case: an app module reads them where it reads the rest.
  Object.assign(process.env, env);
  if (env.LOG_LEVEL !== undefined) logger.reconfigure();
  const config = loadConfig(env);
  const loaded: LoadedApp = invocation.app
    ? await loadAppModule(invocation.app)
    : { kind: 'options', options: demoAppOptions(config), library: OWN_LIBRARY };
  const { createApp, openAppDatabase } = loaded.library;
  switch (command) {
    case 'serve': {
      const app = loaded.kind === 'app' ? loaded.app : await createApp(loaded.options);
      await app.listen({ shutdownOnSignals: true });
      return -1;
    }
    case 'migrate': {
      if (loaded.kind === 'app') {
        // Made by the module already, and createApp migrates: nothing is pending.
        await loaded.app.close();
        logger.info('migrations applied', { app: invocation.app });
        return 0;
      }
      const database = await openAppDatabase(loaded.options);
      if (!database) throw new Error(`${invocation.app ?? 'the app'} has no database: set DATABASE_URL or \`database\` in its options`);
      await database.close();
      logger.info('migrations applied', { database: redactDatabaseUrl(databaseOf(loaded.options, config)), applied: database.applied });
      return 0;
    }
    case 'createtoken': {
      const username = args[0] as string;
      const options = loaded.kind === 'app' ? undefined : loaded.options;
      const authenticator = loaded.kind === 'app' ? loaded.app.gateway.options.authenticator : loaded.options.authenticator;
      if (!isTokenIssuer(authenticator)) {
        if (loaded.kind === 'app') await loaded.app.close();
        const what = authenticator ? 'its authenticator has no createToken(username)' : 'it has no authenticator';
        throw new Error(`${invocation.app ?? 'the app'} cannot issue tokens: ${what}`);
      }
      const database = options ? await openAppDatabase(options) : undefined;
      try {
        process.stdout.write(`${await authenticator.createToken(username)}\n`);
      } finally {
        await database?.close();
        if (loaded.kind === 'app') await loaded.app.close();
      }
      return 0;
    }
    case 'help':
      process.stdout.write(usage());
      return 0;
  }
}

function isTokenIssuer(authenticator: Authenticator | undefined): authenticator is TokenIssuer {
  return typeof (authenticator as Partial<TokenIssuer> | undefined)?.createToken === 'function';
}

/** The database URL an app's options name (for the log line). */
function databaseOf(options: AppOptions, config: Config): string {
  return options.database ?? (options.knex ? 'knex' : (process.env.DATABASE_URL ?? config.databaseUrl));
}

function redactDatabaseUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
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

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`dcrf-gateway: ${(error as Error)?.message ?? String(error)}\n`);
    process.exit(error instanceof AppModuleError ? 2 : 1);
  },
);
