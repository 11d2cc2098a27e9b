// Runs the test suite with node's test runner (TypeScript through tsx), in two passes:
//   1. every file on SQLite + the in-process PubSub;
//   2. the end-to-end files (test/e2e/) again on PostgreSQL + Redis (TEST_DATABASE_URL, TEST_REDIS_URL;
//      defaults: the machine's `test` database and local Redis), except the playground's browser
//      tests (playground-*) and the packed package's smoke test (package-*). Each test app makes a
//      database of its own next to that one, and a Redis channel prefix of its own.
// Files named test/e2e/scaleout-*.test.ts need PostgreSQL + Redis and run in the second pass only.
// Arguments narrow the files: `npm test -- test/e2e/smoke.test.ts`. TEST_PASSES=sqlite or
// TEST_PASSES=postgres runs one pass. Under CI=true an unreachable PostgreSQL or Redis fails the run;
// elsewhere the second pass is skipped with the reason.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function findTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return findTests(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

const isE2e = (file: string): boolean => path.normalize(file).split(path.sep).includes('e2e');
// Browser tests of the playground UI (playground-*) and the packed package's smoke test (package-*):
// nothing in them depends on the database or the PubSub, and they are among the slowest of the suite,
// so they run in the first pass only.
const firstPassOnly = (file: string): boolean => /^(playground|package)-/.test(path.basename(file));
const needsServices = (file: string): boolean => path.basename(file).startsWith('scaleout-');

/** Runs node's test runner on `files`; resolves with its exit code and the counts it printed. */
interface PassResult {
  code: number;
  pass?: number;
  fail?: number;
  skipped?: number;
  cancelled?: number;
}

function runPass(label: string, listed: string[], env: NodeJS.ProcessEnv): Promise<PassResult> {
  // Listed when the run started; a file removed since then is not an error of this run.
  const files = listed.filter((file) => fs.existsSync(file));
  process.stdout.write(`\n# ---- ${label}: ${files.length} file(s) ----\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...files], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { LOG_LEVEL: 'silent', ...env },
    });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on('close', (code, signal) => {
      const count = (name: string): number | undefined => {
        const match = new RegExp(`^(?:#|ℹ) ${name} (\\d+)\\s*$`, 'm').exec(tail);
        return match ? Number(match[1]) : undefined;
      };
      resolve({
        code: code ?? (signal ? 1 : 0),
        pass: count('pass'),
        fail: count('fail'),
        skipped: count('skipped'),
        cancelled: count('cancelled'),
      });
    });
  });
}

/** Why PostgreSQL cannot be used, or undefined when it answers. */
async function postgresProblem(url: string): Promise<string | undefined> {
  try {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    await client.connect();
    await client.query('select 1');
    await client.end();
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${url} does not answer (${(error as Error).message})`;
  }
}

/** Why Redis cannot be used, or undefined when it answers PING. */
function redisProblem(url: string): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    const done = (problem: string | undefined): void => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(3000, () => done(`Redis at ${url} did not answer within 3 s`));
    socket.once('error', (error) => done(`Redis at ${url} is unreachable (${error.message})`));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) =>
      done(/^\+PONG/.test(data.toString()) ? undefined : `Redis at ${url} answered ${JSON.stringify(data.toString().trim())}`),
    );
  });
}

const args = process.argv.slice(2);
const files = (args.length ? args : findTests('test')).sort();
const passes = new Set((process.env.TEST_PASSES ?? 'sqlite,postgres').split(',').map((name) => name.trim()));
const ci = process.env.CI === 'true';
const baseEnv = { ...process.env };
delete baseEnv.TEST_DATABASE_URL;
delete baseEnv.TEST_REDIS_URL;

const results: PassResult[] = [];
let failed = false;

const firstPass = files.filter((file) => !needsServices(file));
if (passes.has('sqlite') && firstPass.length) {
  results.push(await runPass('SQLite + in-process PubSub', firstPass, baseEnv));
}

const secondPass = files.filter((file) => isE2e(file) && !firstPassOnly(file));
if (passes.has('postgres') && secondPass.length) {
  const databaseUrl = process.env.TEST_DATABASE_URL || DEFAULT_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL || DEFAULT_REDIS_URL;
  // Under CI, services started just before the run (.ci/run starts them if they were down) get a few seconds.
  let problem: string | undefined;
  for (let attempt = 0; attempt < (ci ? 10 : 1); attempt++) {
    problem = (await postgresProblem(databaseUrl)) ?? (await redisProblem(redisUrl));
    if (!problem) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (problem && ci) {
    process.stdout.write(`\n# FAIL: the PostgreSQL + Redis pass cannot run under CI: ${problem}\n`);
    failed = true;
  } else if (problem) {
    process.stdout.write(`\n# SKIPPED the PostgreSQL + Redis pass (${secondPass.length} file(s)): ${problem}\n`);
  } else {
    results.push(await runPass('PostgreSQL + Redis', secondPass, { ...baseEnv, TEST_DATABASE_URL: databaseUrl, TEST_REDIS_URL: redisUrl }));
  }
}

if (results.some((result) => result.code !== 0)) failed = true;
if (results.length && results.every((result) => result.pass !== undefined && result.fail !== undefined)) {
  const sum = (key: 'pass' | 'fail' | 'skipped' | 'cancelled'): number => results.reduce((total, result) => total + (result[key] ?? 0), 0);
  process.stdout.write(`\ntotal: ${sum('pass')} passed, ${sum('fail') + sum('cancelled')} failed, ${sum('skipped')} skipped\n`);
}
process.exit(failed ? 1 : 0);
