/**
 * Loading an app module for the CLI (`dcrf-gateway serve ./dist/app.js`): a JavaScript file whose
 * default export is the `createApp` options, or a function returning them or an app. Every way it can
 * be wrong gets one sentence naming the file and the fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App, AppOptions } from './app.js';

/** An app module that cannot be used, said in a sentence for the command line. */
export class AppModuleError extends Error {
  override name = 'AppModuleError';
}

/** What an app module gives: options for `createApp`, or an app made already. */
export type LoadedApp = { kind: 'options'; options: AppOptions } | { kind: 'app'; app: App };

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
  if (typeof value === 'function' && !isConsumerLike(value)) {
    try {
      value = await (value as () => unknown)();
    } catch (error) {
      throw new AppModuleError(`the app module ${file}: its default export threw: ${(error as Error)?.message ?? String(error)}`);
    }
  }
  if (isApp(value)) return { kind: 'app', app: value };
  if (value && typeof value === 'object' && 'streams' in value && value.streams && typeof value.streams === 'object') {
    return { kind: 'options', options: value as AppOptions };
  }
  throw new AppModuleError(`the default export of ${file} is ${describe(value)}, not app options (no \`streams\`): ${SHAPE}`);
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
