/**
 * The `dcrf-gateway` command as a person runs it: help and version at every level, unknown flags and
 * commands refused with a suggestion (never served on a default), `--log-level` honoured, the change
 * log's settings applied or refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GatewayProcess } from '../helpers/scaleout.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Runs the CLI from source; resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('--help and --version answer at every level', () => {
  for (const args of [['--help'], ['-h'], ['help'], []]) {
    const run = cli(args);
    assert.equal(run.status, 0, args.join(' '));
    assert.match(run.stdout, /usage: dcrf-gateway <command>/);
    assert.match(run.stdout, /createtoken <username>/);
    assert.match(run.stdout, /--database-url/);
  }
  const serveHelp = cli(['serve', '--help']);
  assert.equal(serveHelp.status, 0);
  assert.match(serveHelp.stdout, /usage: dcrf-gateway serve \[app\] \[flags\]/);
  assert.match(cli(['help', 'createtoken']).stdout, /usage: dcrf-gateway createtoken <username>/);
  for (const args of [['--version'], ['-v'], ['serve', '--version']]) {
    const run = cli(args);
    assert.equal(run.status, 0);
    assert.equal(run.stdout.trim(), VERSION);
  }
});

test('an unknown flag or command is refused with the nearest name, before anything starts', () => {
  const typo = cli(['serve', '--prot', '8403']);
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /unknown flag --prot: did you mean --port\?/);
  assert.doesNotMatch(typo.stderr, /listening/);
  const command = cli(['serv']);
  assert.equal(command.status, 2);
  assert.match(command.stderr, /unknown command "serv": did you mean "serve"\?/);
  assert.match(cli(['createtoken']).stderr, /createtoken takes one <username>/);
});

test('--log-level is honoured: silent says nothing, info reports the migration, debug says more', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-'));
  try {
    const database = `sqlite:${path.join(dir, 'cli.sqlite3')}`;
    const silent = cli(['migrate', '--database-url', database, '--log-level', 'silent']);
    assert.equal(silent.status, 0, silent.stderr);
    assert.equal(silent.stderr, '');
    const info = cli(['migrate', '--database-url', database], { LOG_LEVEL: 'silent' });
    assert.equal(info.stderr, '', 'LOG_LEVEL from the environment applies without the flag');
    const flagWins = cli(['migrate', '--database-url', database, '--log-level=info'], { LOG_LEVEL: 'silent' });
    assert.match(flagWins.stderr, /"level":"info","msg":"migrations applied"/);
    const bad = cli(['migrate', '--log-level', 'loud']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--log-level must be one of trace, debug, info, warn, error, fatal, silent/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--change-log-retention and --change-log-max-rows reach the change log; a bad value is refused before anything starts', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-'));
  const env = { DATABASE_URL: `sqlite:${path.join(dir, 'cli.sqlite3')}`, REDIS_URL: '', TOKEN_SECRET_FILE: path.join(dir, 'secret') };
  try {
    const flags = await GatewayProcess.start(env, ['--change-log-retention', '90m', '--change-log-max-rows', '500']);
    const listening = await flags.waitForLog((line) => line.msg === 'dcrf-gateway listening');
    assert.equal(listening.changeLog, 'kept 5400000 ms, at most 500 entries');
    await flags.stop();
    const fromEnv = await GatewayProcess.start({ ...env, CHANGE_LOG_RETENTION: '2d' });
    const defaults = await fromEnv.waitForLog((line) => line.msg === 'dcrf-gateway listening');
    assert.equal(defaults.changeLog, 'kept 172800000 ms, at most 1000000 entries', 'the environment, and the default row bound');
    await fromEnv.stop();

    for (const [args, message] of [
      [
        ['--change-log-retention', 'soon'],
        /CHANGE_LOG_RETENTION \(--change-log-retention\) must be a duration: 24h, 90m, 30s, 2d or milliseconds \(got "soon"\)/,
      ],
      [['--change-log-max-rows', '1.5'], /CHANGE_LOG_MAX_ROWS \(--change-log-max-rows\) must be a whole number ≥ 0 \(got "1.5"\)/],
      [['--change-log-max-rows=-3'], /CHANGE_LOG_MAX_ROWS \(--change-log-max-rows\) must be a whole number ≥ 0 \(got "-3"\)/],
    ] as const) {
      const run = cli(['serve', '--port', '0', ...args], env);
      assert.equal(run.status, 2, args.join(' '));
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /listening/);
    }
    const fromEnvBad = cli(['migrate'], { ...env, CHANGE_LOG_MAX_ROWS: 'many' });
    assert.equal(fromEnvBad.status, 2);
    assert.match(fromEnvBad.stderr, /CHANGE_LOG_MAX_ROWS \(--change-log-max-rows\) must be a whole number/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
