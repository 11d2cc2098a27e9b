/**
 * Loading an app module for the CLI (`dcrf-gateway serve ./dist/app.js`): a JavaScript file whose
 * default export is the `createApp` options, or a function returning them or an app. Every way it can
 * be wrong gets one sentence naming the file and the fix.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type App, type AppOptions, createApp, openAppDatabase } from './app.js';
import { logger } from './logger.js';

/** An app module that cannot be used, said in a sentence for the command line. */
export class AppModuleError extends Error {
  override name = 'AppModuleError';
}

/** The library calls the CLI makes for an app: those of the copy of the library the app imports. */
export interface AppLibrary {
  createApp: typeof createApp;
  openAppDatabase: typeof openAppDatabase;
}

/** This copy of the library. */
export const OWN_LIBRARY: AppLibrary = { createApp, openAppDatabase };

/** What an app module gives: options for `createApp`, or an app made already; and the library it uses. */
export type LoadedApp = ({ kind: 'options'; options: AppOptions } | { kind: 'app'; app: App }) & { library: AppLibrary };

const SHAPE =
  'export default the createApp options ({ streams, migrations, database, ... }), or a function returning them or an app (docs/getting-started.md)';

/** Imports `file` (relative to `cwd`) and reads its default export. */
export async function loadAppModule(file: string, cwd: string = process.cwd()): Promise<LoadedApp> {
  const resolved = path.resolve(cwd, file);
  if (!fs.existsSync(resolved)) {
    const hint = /\.ts$/.test(file) ? ': compile it first (tsc) and name the .js file' : '';
    throw new AppModuleError(`the app module ${file} does not exist (looked for ${resolved})${hint}`);
  }
  if (fs.statSync(resolved).isDirectory()) throw new AppModuleError(`the app module ${file} is a directory: name its JavaScript file`);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
  } catch (error) {
    throw new AppModuleError(`the app module ${file} failed to load: ${(error as Error)?.message ?? String(error)}`);
  }
  if (!('default' in module) || module.default === undefined) {
    const named = Object.keys(module);
    throw new AppModuleError(
      `the app module ${file} has no default export${named.length ? ` (it exports ${named.join(', ')})` : ''}: ${SHAPE}`,
    );
  }
  let value: unknown = module.default;
  // A module compiled to CommonJS (a package.json without "type": "module") puts the export one level down.
  if (value && typeof value === 'object' && !('streams' in value) && 'default' in value) value = (value as { default: unknown }).default;
  if (typeof value === 'function' && !isConsumerLike(value)) {
    try {
      value = await (value as () => unknown)();
    } catch (error) {
      throw new AppModuleError(`the app module ${file}: its default export threw: ${(error as Error)?.message ?? String(error)}`);
    }
  }
  if (isApp(value)) return { kind: 'app', app: value, library: OWN_LIBRARY };
  if (value && typeof value === 'object' && 'streams' in value && value.streams && typeof value.streams === 'object') {
    return { kind: 'options', options: value as AppOptions, library: await libraryOf(resolved) };
  }
  throw new AppModuleError(`the default export of ${file} is ${describe(value)}, not app options (no \`streams\`): ${SHAPE}`);
}

/**
 * The copy of the library the module imports. A CLI installed elsewhere (globally, another project) is
 * another copy: its runtime would be bound where the app's models never look (their hooks ask their
 * own copy), and writes would publish nothing. So the app is made by its own copy when it has one.
 */
async function libraryOf(moduleFile: string): Promise<AppLibrary> {
  let entry: string;
  try {
    entry = fs.realpathSync(createRequire(moduleFile).resolve('dcrf-gateway'));
  } catch {
    return OWN_LIBRARY;
  }
  const own = fileURLToPath(new URL('./index.js', import.meta.url));
  if (fs.existsSync(own) && entry === fs.realpathSync(own)) return OWN_LIBRARY;
  const library = (await import(pathToFileURL(entry).href)) as Partial<AppLibrary>;
  if (typeof library.createApp !== 'function' || typeof library.openAppDatabase !== 'function') {
    logger.warn("the app's copy of dcrf-gateway has no createApp: serving it with the command's copy", { library: entry });
    return OWN_LIBRARY;
  }
  logger.debug('serving the app with its own copy of dcrf-gateway', { library: entry });
  return library as AppLibrary;
}

/** Whether a value is an app made by `createApp` (by shape: the module may load its own copy of the library). */
function isApp(value: unknown): value is App {
  const candidate = value as Partial<App> | null;
  return (
    !!candidate &&
    typeof candidate === 'object' &&
    typeof candidate.listen === 'function' &&
    typeof candidate.close === 'function' &&
    !!candidate.gateway
  );
}

/** A class (a consumer exported by mistake) is not called as the app's factory. */
function isConsumerLike(value: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(value));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return `a class (${value.name || 'anonymous'})`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const keys = Object.keys(value as object);
    return keys.length ? `an object with ${keys.slice(0, 5).join(', ')}` : 'an empty object';
  }
  return `a ${typeof value}`;
}
