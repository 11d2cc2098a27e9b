/**
 * `npm run bench [-- <case>...] [-- --smoke] [-- --runs N] [-- --cpu-prof]`: runs the benchmark cases,
 * each against its baselines in the same run, prints a table per case and writes
 * bench/results/latest.{json,md} and bench/results/ratios.svg. `--cpu-prof` writes a CPU profile of
 * the system's server for each measured window to bench/results/profiles/ (summarize one with
 * `node --import tsx bench/lib/profile-summary.ts <file>`).
 */
import { crudMixCase } from './cases/crud-mix.js';
import { fanoutCase } from './cases/fanout.js';
import { graphqlCase } from './cases/graphql.js';
import { idleCase } from './cases/idle.js';
import { patchCase } from './cases/patch.js';
import { postgresCase } from './cases/postgres.js';
import { retrieveCase } from './cases/retrieve.js';
import { log, type Settings } from './lib/harness.js';
import { ensureFileLimit } from './lib/limits.js';
import path from 'node:path';
import { printCase, RESULTS_DIR, writeResults } from './lib/report.js';
import type { CaseResult } from './lib/results.js';

const CASES: Record<string, (settings: Settings) => Promise<CaseResult>> = {
  retrieve: retrieveCase,
  'crud-mix': crudMixCase,
  patch: patchCase,
  idle: idleCase,
  fanout: fanoutCase,
  graphql: graphqlCase,
  postgres: postgresCase,
};

/** Sockets the largest case holds in one process (fan-out and idle at 10,000), plus headroom. */
const FILES_NEEDED = 12_000;

function parseArgs(argv: string[]): { cases: string[]; settings: Settings } {
  const smoke = argv.includes('--smoke');
  const runsIndex = argv.indexOf('--runs');
  const runs = runsIndex >= 0 ? Number(argv[runsIndex + 1]) : smoke ? 1 : 3;
  const names = argv.filter((arg, i) => !arg.startsWith('--') && argv[i - 1] !== '--runs');
  for (const name of names) if (!CASES[name]) throw new Error(`unknown case "${name}" (cases: ${Object.keys(CASES).join(', ')})`);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a whole number ≥ 1');
  return {
    cases: names.length ? names : Object.keys(CASES),
    settings: {
      smoke,
      runs,
      warmupMs: smoke ? 300 : 1000,
      measureMs: smoke ? 700 : 3000,
      profileDir: argv.includes('--cpu-prof') ? path.join(RESULTS_DIR, 'profiles') : undefined,
    },
  };
}

const { cases, settings } = parseArgs(process.argv.slice(2));
if (!settings.smoke && cases.some((name) => name === 'idle' || name === 'fanout')) ensureFileLimit(FILES_NEEDED);
const started = Date.now();
const results: CaseResult[] = [];
for (const name of cases) {
  log(`case ${name}${settings.smoke ? ' (smoke)' : ''}: ${settings.runs} run(s)`);
  let result: CaseResult;
  try {
    result = await CASES[name]!({ ...settings, caseName: name, cases });
  } catch (error) {
    result = { name, available: false, error: String((error as Error)?.stack ?? error), rows: [] };
    log(`case ${name} failed: ${(error as Error)?.message ?? error}`);
  }
  results.push(result);
  printCase(result);
}
const files = writeResults(results, settings, Date.now() - started);
log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${files.join(', ')}`);

if (settings.smoke) {
  const problems = results.flatMap((result) => smokeProblems(result));
  if (problems.length) {
    for (const problem of problems) log(`smoke: ${problem}`);
    process.exitCode = 1;
  } else log('smoke: every case ran and produced numbers');
}

/** What is missing from a case for the smoke check: an error, a target without a finite number. */
function smokeProblems(result: CaseResult): string[] {
  if (result.error) return [`${result.name} failed`];
  if (!result.available) return [];
  const problems: string[] = [];
  for (const row of result.rows) {
    for (const target of [row.system, ...row.baselines]) {
      const runs = row.runs[target] ?? [];
      if (!runs.length || runs.some((run) => !Number.isFinite(run[row.primary] as number)))
        problems.push(`${row.id}: no ${row.primary} for ${target}`);
    }
  }
  return problems;
}
