// Builds what is out of date: the server (tsc, incremental) always; the playground (Vite) only when
// playground/dist is missing or older than a playground source file. `--force` rebuilds both.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const force = process.argv.includes('--force');

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

const bin = (name: string): string => path.join('node_modules', '.bin', name);
run(bin('tsc'), ['-p', 'tsconfig.json']);

const builtIndex = path.join('playground', 'dist', 'index.html');
const stale = force || !fs.existsSync(builtIndex) || fs.statSync(builtIndex).mtimeMs < newestSource('playground');
if (stale) run(bin('vite'), ['build', 'playground', '--logLevel', 'warn']);
