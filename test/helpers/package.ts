/**
 * The package as users get it, for the `package-*` tests: `npm pack` of the built repository, an app
 * folder that depends on the tarball (installed offline-first with the versions of the repository's
 * package-lock.json), and the app started as a process of its own.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './entry-probe.js';

/** The built library entry the package ships. */
export const BUILT_ENTRY = path.join(REPO_ROOT, 'dist', 'src', 'index.js');
export const MISSING_BUILD = 'dist/src/index.js is missing: run `npm run build` before this test';
/** The skip reason of a package test: no build outside CI (under CI=true the test runs and fails). */
export const skipUnlessBuilt: string | false = !fs.existsSync(BUILT_ENTRY) && process.env.CI !== 'true' ? MISSING_BUILD : false;

/** The repository's manifest, as the tarball carries it. */
export interface PackageJson {
  name: string;
  version: string;
  license: string;
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [key: string]: unknown;
}

/** What a command printed. */
export interface RunOutput {
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; rejects with its output when it fails. */
export function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${stdout}\n${stderr}`));
    });
  });
}

/** The repository's package.json. */
export function repoManifest(): PackageJson {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;
}

/** `npm pack` of the built repository into `destination`: the tarball's path and the files it holds. */
export async function packLibrary(destination: string): Promise<{ tarball: string; files: string[] }> {
  // --ignore-scripts: the build is the one under test (prepack would rebuild it).
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], REPO_ROOT);
  const [packed] = JSON.parse(stdout) as [{ filename: string; files: Array<{ path: string }> }];
  return { tarball: path.join(destination, packed.filename), files: packed.files.map((file) => file.path) };
}

/** Where a dependency `name` of the lock entry at `from` is installed: its own node_modules, then its parents'. */
function resolveInLock(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const index = base.lastIndexOf('/node_modules/');
    base = index < 0 ? '' : base.slice(0, index);
  }
}

/**
 * An app folder whose package.json is `app` with `dcrf-gateway` from the tarball, and a lockfile made of
 * the repository's: the tarball's entry, then every package the app's dependencies reach (the
 * library's dependencies and peers included), so `npm ci` installs the versions the suite ran against,
 * from the npm cache when it has them. The library's own manifest alone decides what its users get:
 * nothing of the repository's (no overrides) is repeated.
 */
export function writeLockedApp(
  folder: string,
  tarball: string,
  app: { name: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string>; [key: string]: unknown },
): void {
  const manifest = repoManifest();
  const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const spec = `file:${tarball}`;
  const dependencies = { ...app.dependencies, 'dcrf-gateway': spec };
  const packages: Record<string, unknown> = {
    '': { name: app.name, dependencies, devDependencies: app.devDependencies },
    'node_modules/dcrf-gateway': {
      version: manifest.version,
      resolved: spec,
      integrity: `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`,
      license: manifest.license,
      dependencies: manifest.dependencies,
      peerDependencies: manifest.peerDependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  const pending: Array<[string, string]> = [];
  const wants = (from: string, entry: { dependencies?: object; optionalDependencies?: object; peerDependencies?: object }) => {
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies })) {
      pending.push([from, name]);
    }
  };
  wants('', { dependencies: { ...app.dependencies, ...app.devDependencies } });
  wants('node_modules/dcrf-gateway', { dependencies: manifest.dependencies, peerDependencies: manifest.peerDependencies });
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [from, name] = next;
    if (name === 'dcrf-gateway') continue;
    const key = resolveInLock(lock.packages, from, name);
    if (!key || key in packages) continue;
    const { dev, devOptional, peer, ...entry } = lock.packages[key] as LockEntry;
    if (entry.link) continue;
    packages[key] = entry;
    wants(key, entry);
  }
  fs.writeFileSync(path.join(folder, 'package.json'), JSON.stringify({ ...app, dependencies }, null, 2));
  fs.writeFileSync(
    path.join(folder, 'package-lock.json'),
    JSON.stringify({ name: app.name, lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}

/** `npm ci` of an app folder made by `writeLockedApp`, offline-first, then the native SQLite build. */
export async function installLockedApp(folder: string): Promise<RunOutput> {
  const output = await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], folder);
  copyNativeSqlite(folder);
  return output;
}

/**
 * better-sqlite3 is installed without running its build (no network, no compiler in the test): the
 * repository's own build of the same version is copied in.
 */
export function copyNativeSqlite(folder: string): void {
  const from = path.join(REPO_ROOT, 'node_modules', 'better-sqlite3');
  const to = path.join(folder, 'node_modules', 'better-sqlite3');
  const version = (dir: string) => (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(version(to), version(from), 'the app got the better-sqlite3 version of package-lock.json');
  fs.cpSync(path.join(from, 'build', 'Release', 'better_sqlite3.node'), path.join(to, 'build', 'Release', 'better_sqlite3.node'));
}

/** A process started by `startProcess`: its port and its output so far. */
export interface StartedProcess {
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node <args>` in `folder` and resolves once its output matches `listening` (whose first
 * group is the port); rejects with the output when it exits first.
 */
export async function startProcess(
  folder: string,
  args: string[],
  listening: RegExp,
  env: Record<string, string> = {},
): Promise<StartedProcess> {
  const child = spawn(process.execPath, args, { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = listening.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => reject(new Error(`node ${args.join(' ')} exited with ${code}:\n${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** What `npm install` lines add to an app's package.json. */
export interface InstalledDependencies {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

/**
 * The dependencies that the `npm install <names>` and `npm install -D <names>` lines among `commands`
 * add, each with the range this repository runs against (its dependency, peer or dev dependency):
 * what `writeLockedApp` installs from the lockfile. `dcrf-gateway` itself becomes the tarball there.
 * A name the repository does not know is an error: nothing would lock it.
 */
export function installedDependencies(commands: string[]): InstalledDependencies {
  const manifest = repoManifest();
  const known: Record<string, string | undefined> = {
    ...manifest.devDependencies,
    ...manifest.peerDependencies,
    ...manifest.dependencies,
    'dcrf-gateway': manifest.version,
  };
  const installed: InstalledDependencies = { dependencies: {}, devDependencies: {} };
  for (const command of commands) {
    const [npm, verb, ...words] = command.split(/\s+/);
    if (npm !== 'npm' || (verb !== 'install' && verb !== 'i')) continue;
    const dev = words.some((word) => word === '-D' || word === '--save-dev');
    for (const name of words.filter((word) => !word.startsWith('-'))) {
      const range = known[name];
      if (!range) throw new Error(`\`${command}\` installs ${name}, which the repository's lockfile does not hold`);
      installed[dev ? 'devDependencies' : 'dependencies'][name] = range;
    }
  }
  return installed;
}

/**
 * An `npx <bin> <args>` line as the installed app runs it: the app's own `node_modules/.bin/<bin>`
 * (never a download), then the arguments, for `run` through node or `startProcess`.
 */
export function localBin(folder: string, command: string): string[] {
  const [npx, bin, ...args] = command.split(/\s+/);
  if (npx !== 'npx' || !bin) throw new Error(`\`${command}\` is not an npx command`);
  const file = path.join(folder, 'node_modules', '.bin', bin);
  if (!fs.existsSync(file)) throw new Error(`\`${command}\`: the install gave no ${bin} (node_modules/.bin/${bin} is missing)`);
  return [file, ...args];
}

/** The listening line of an app served by `createApp` (at LOG_LEVEL info): its first group is the port. */
export const LISTENING_LINE = /"http":"http:\/\/127\.0\.0\.1:(\d+)"/;

/** The library packed into a fresh temporary folder, for one test. */
export interface PackedWorkspace {
  /** The temporary folder (removed after the test). */
  dir: string;
  /** The packed tarball's path. */
  tarball: string;
  /** The files the tarball holds. */
  files: string[];
}

/**
 * Runs `body` in a fresh temporary folder (named from `prefix`) with the built library packed there,
 * then removes the folder, whatever `body` did. The build must exist (CI builds before the tests).
 */
export async function inPackedWorkspace<T>(prefix: string, body: (workspace: PackedWorkspace) => Promise<T>): Promise<T> {
  assert.ok(fs.existsSync(BUILT_ENTRY), `${MISSING_BUILD} (CI builds first)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return await body({ dir, ...(await packLibrary(dir)) });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
