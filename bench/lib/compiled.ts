/**
 * The servers under test run as compiled JavaScript, as `npm start` runs the gateway, not through tsx:
 * tsx's transform names every function made at run time (`__name(fn, "fn")`, an
 * `Object.defineProperty` per closure), which a deployed server never pays and which costs the gateway,
 * with its closures per request, more than the hand-written baselines. `bench/tsconfig.build.json`
 * compiles `bench/servers` and what they import into `dist/` (beside the package's own build, same
 * layout, so the demo finds its schema and migrations as `npm start` does); tsc's incremental build
 * makes that quick after the first run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Not child.ts's BENCH_DIR: child.ts imports this module, so that constant is not set yet here.
const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.resolve(BENCH_DIR, '..');
let built = false;

/** Compiles the benchmark's servers (once per process); throws with tsc's output when it fails. */
export function buildServers(): void {
  if (built) return;
  const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
  const result = spawnSync(tsc, ['-p', path.join(BENCH_DIR, 'tsconfig.build.json')], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`compiling the benchmark servers failed:\n${result.stdout}${result.stderr}`);
  built = true;
}

/** The compiled file of a server script (`servers/raw.ts` → `dist/bench/servers/raw.js`), built first. */
export function compiledScript(script: string): string {
  buildServers();
  const file = path.join(ROOT, 'dist', 'bench', script.replace(/\.ts$/, '.js'));
  if (!fs.existsSync(file)) throw new Error(`${script} is not one of the compiled benchmark servers (bench/tsconfig.build.json)`);
  return file;
}
