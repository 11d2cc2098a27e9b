/**
 * `node --import tsx bench/ab.ts --base <rev> [--rounds 3] [--runs 2] [--keep-bench] <case...> [--smoke]`: the
 * same bench cases, interleaved, on an older revision and on this tree, to judge a change whose effect
 * is smaller than the machine's noise between whole runs. Each round runs `bench/run.ts <case...>
 * --runs N` in both trees, one after the other (the order alternates by round, so a drift of the
 * machine's load falls on both alike), and the summary gives per row and tree the medians over every
 * run of every round: the ratio to each baseline, the system's server CPU per operation, and that CPU
 * over each baseline's in the same run (the steadiest of the three on a noisy machine).
 *
 * The older revision is checked out as a git worktree in the system's temporary directory, sharing
 * this tree's node_modules, and built (`npm run build`); it is kept for the next comparison (`git
 * worktree remove <dir>` drops it). Unless `--keep-bench`, this tree's `bench/` is
 * copied over it first, so both trees are measured by the same harness; the older `src/` must then
 * still serve what `bench/servers` import.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './lib/histogram.js';
import { flag, option } from './lib/options.js';
import type { Row } from './lib/results.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const base = option('base', '');
const rounds = Number(option('rounds', '3'));
const runs = Number(option('runs', '2'));
const valued = new Set(['--base', '--rounds', '--runs']);
// Everything else (the cases, `--smoke`) goes to bench/run.ts as it is.
const forwarded = process.argv
  .slice(2)
  .filter((arg, i, argv) => !valued.has(arg) && !valued.has(argv[i - 1] ?? '') && arg !== '--keep-bench');
const resultsFile = forwarded.includes('--smoke') ? 'latest-smoke.json' : 'latest.json';
if (!base) throw new Error('--base <revision> is required (a commit, tag or branch to compare this tree with)');
if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(runs) || runs < 1)
  throw new Error('--rounds and --runs take whole numbers ≥ 1');

/** Runs a command to its end; throws with its output when it fails. */
function run(command: string, args: string[], cwd: string, quiet = true): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: quiet ? 'pipe' : 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  return result.stdout ?? '';
}

/** The older revision's tree, made (or refreshed) as a worktree of this repository. */
function baseTree(): string {
  const commit = run('git', ['rev-parse', '--verify', `${base}^{commit}`], ROOT).trim();
  const dir = path.join(os.tmpdir(), `dcrf-bench-ab-${commit.slice(0, 12)}`);
  if (!fs.existsSync(path.join(dir, '.git'))) run('git', ['worktree', 'add', '--force', '--detach', dir, commit], ROOT);
  run('git', ['checkout', '--force', '--detach', commit], dir);
  if (!fs.existsSync(path.join(dir, 'node_modules'))) fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  if (!flag('keep-bench')) {
    fs.rmSync(path.join(dir, 'bench'), { recursive: true, force: true });
    const results = path.join(ROOT, 'bench', 'results');
    fs.cpSync(path.join(ROOT, 'bench'), path.join(dir, 'bench'), {
      recursive: true,
      filter: (file) => file !== results && !file.startsWith(results + path.sep),
    });
  }
  console.log(`building ${base} (${commit.slice(0, 12)}) in ${dir}`);
  run('npm', ['run', 'build'], dir);
  return dir;
}

interface Sample {
  /** baseline → system ÷ baseline on the row's primary metric, one per run. */
  ratios: Record<string, number[]>;
  /** The system's server CPU per operation, one per run. */
  cpu: number[];
  /** baseline → the system's CPU per operation ÷ the baseline's, one per run. */
  cpuRatios: Record<string, number[]>;
}

const samples = new Map<string, Map<string, Sample>>();

/** Adds the runs of a tree's latest results to its samples. */
function collect(tree: string, dir: string): void {
  const results = JSON.parse(fs.readFileSync(path.join(dir, 'bench', 'results', resultsFile), 'utf8')) as { cases: Array<{ rows: Row[] }> };
  for (const row of results.cases.flatMap((each) => each.rows)) {
    const byTree = samples.get(row.id) ?? new Map<string, Sample>();
    samples.set(row.id, byTree);
    const sample = byTree.get(tree) ?? { ratios: {}, cpu: [], cpuRatios: {} };
    byTree.set(tree, sample);
    const system = row.runs[row.system] ?? [];
    for (const run of system) if (Number.isFinite(run.cpuUsPerOp)) sample.cpu.push(run.cpuUsPerOp);
    for (const baseline of row.baselines) {
      const other = row.runs[baseline] ?? [];
      system.forEach((run, i) => {
        const against = other[i];
        if (!against) return;
        const ratio = (run[row.primary] ?? Number.NaN) / (against[row.primary] ?? Number.NaN);
        if (Number.isFinite(ratio)) (sample.ratios[baseline] ??= []).push(ratio);
        const cpuRatio = run.cpuUsPerOp / against.cpuUsPerOp;
        if (Number.isFinite(cpuRatio)) (sample.cpuRatios[baseline] ??= []).push(cpuRatio);
      });
    }
  }
}

const trees: Array<[string, string]> = [
  [base, baseTree()],
  ['this tree', ROOT],
];
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 === 1 ? trees : [...trees].reverse();
  for (const [name, dir] of order) {
    console.log(`round ${round}/${rounds}: ${name}`);
    run('node', ['--import', 'tsx', 'bench/run.ts', ...forwarded, '--runs', String(runs)], dir, false);
    collect(name, dir);
  }
}

const show = (values: number[] | undefined, digits: number) => (values?.length ? median(values).toFixed(digits) : '–');
for (const [id, byTree] of samples) {
  console.log(`\n${id} (medians of ${rounds * runs} runs per tree)`);
  for (const [name] of trees) {
    const sample = byTree.get(name);
    if (!sample) continue;
    const ratios = Object.entries(sample.ratios).map(([baseline, values]) => `÷ ${baseline} ${show(values, 2)}×`);
    const cpu = Object.entries(sample.cpuRatios).map(([baseline, values]) => `${show(values, 2)}× ${baseline}'s`);
    console.log(`  ${name.padEnd(12)} ${ratios.join(', ')}; CPU ${show(sample.cpu, 1)} µs/op (${cpu.join(', ')})`);
  }
}
