/**
 * Tokens are not stored in plain text: the database holds only their SHA-256 (the lookup key), yet
 * `createtoken` prints the same token on a second call (docs/demo.md), derived from a secret kept
 * outside the database. Existing plain-text tokens are hashed by migration 0003 and keep working.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { upgradeStatus } from '../helpers/dcrf.js';
import { createToken } from '../../src/demo/auth.js';
import { demoMigrations } from '../../src/demo/app.js';
import { openDatabase } from '../../src/db/knex.js';
import { migrate } from '../../src/db/migrations.js';

const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

/** The user a token authenticates on a DCRF socket (`users` `me`), or the upgrade's refusal status. */
async function whoIs(app: TestApp, token: string): Promise<string | number> {
  const status = await upgradeStatus(`${app.wsUrl}/ws/users/?token=${token}`);
  if (status !== 101) return status;
  const socket = await TestSocket.open(`${app.wsUrl}/ws/users/`, { headers: { Authorization: `Bearer ${token}` } });
  const me = await socket.request({ action: 'me', request_id: 1 });
  socket.close();
  return me.data.username;
}

/** Every stored value of every tokens row, as text. */
async function storedTokens(app: TestApp): Promise<string> {
  return JSON.stringify(await app.knex('tokens').select('*'));
}

describe('tokens of a fresh database', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await app.close();
  });

  test('the database keeps only the SHA-256 of a token, and the token authenticates', async () => {
    const token = await app.token('hash_alice');
    assert.match(token, /^[0-9a-f]{64}$/);
    const stored = await storedTokens(app);
    assert.ok(!stored.includes(token), 'the token is stored as it is');
    const rows = await app.knex('tokens').select('key');
    assert.ok(
      rows.some((row: { key: string }) => row.key === sha256(token)),
      'the stored key is the hash',
    );
    assert.equal(await whoIs(app, token), 'hash_alice');
    // The stored key itself is no token.
    const key = rows.find((row: { key: string }) => row.key === sha256(token))!.key;
    assert.equal(await whoIs(app, key), 401);
  });

  test('a second createtoken gives the same token; another secret cannot re-derive it and replaces it', async () => {
    const secretA = crypto.randomBytes(32).toString('hex');
    const secretB = crypto.randomBytes(32).toString('hex');
    const first = await createToken('hash_bob', secretA);
    assert.equal(await createToken('hash_bob', secretA), first);
    assert.equal(await whoIs(app, first), 'hash_bob');
    const rotated = await createToken('hash_bob', secretB);
    assert.notEqual(rotated, first);
    assert.equal(await whoIs(app, rotated), 'hash_bob');
    assert.equal(await whoIs(app, first), 401, 'the replaced token is revoked');
    assert.equal(await createToken('hash_bob', secretB), rotated);
  });

  test('deleting the token row revokes it; the next createtoken makes a new one', async () => {
    const secret = crypto.randomBytes(32).toString('hex');
    const first = await createToken('hash_carol', secret);
    await app
      .knex('tokens')
      .whereIn('user_id', app.knex('users').select('id').where({ username: 'hash_carol' }))
      .delete();
    assert.equal(await whoIs(app, first), 401);
    const second = await createToken('hash_carol', secret);
    assert.notEqual(second, first);
    assert.equal(await whoIs(app, second), 'hash_carol');
  });
});

describe('migration 0003 hashes the tokens of an existing database', () => {
  let database: TestDatabase | undefined;
  let dir: string;
  let app: TestApp;
  const legacy = crypto.randomBytes(20).toString('hex');

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-token-migration-'));
    database = process.env.TEST_DATABASE_URL ? await createTestDatabase(process.env.TEST_DATABASE_URL) : undefined;
    const url = database?.url ?? `sqlite:${path.join(dir, 'old.sqlite3')}`;
    // The database as it was before tokens were hashed, with a token stored in plain text.
    const knex = openDatabase(url);
    await migrate(
      knex,
      demoMigrations.filter((migration) => migration.name < '0003'),
    );
    const [user] = await knex('users').insert({ username: 'legacy_dave', email: 'legacy_dave@example.com' }).returning('id');
    await knex('tokens').insert({ key: legacy, user_id: typeof user === 'object' ? user.id : user });
    await knex.destroy();
    app = await startTestApp({ env: { DATABASE_URL: url } });
  });
  after(async () => {
    await app?.close();
    await database?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the plain-text token is gone from the database and still authenticates', async () => {
    const stored = await storedTokens(app);
    assert.ok(!stored.includes(legacy), 'the legacy token is still stored as it is');
    assert.ok(stored.includes(sha256(legacy)));
    assert.equal(await whoIs(app, legacy), 'legacy_dave');
  });

  test('createtoken cannot show a token it never derived: it issues a derived one, which replaces it', async () => {
    const secret = crypto.randomBytes(32).toString('hex');
    const token = await createToken('legacy_dave', secret);
    assert.notEqual(token, legacy);
    assert.equal(await whoIs(app, token), 'legacy_dave');
    assert.equal(await whoIs(app, legacy), 401);
    assert.equal(await createToken('legacy_dave', secret), token);
  });
});

/** Runs the real CLI; resolves with its exit code, stdout and stderr. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      env: { ...process.env, LOG_LEVEL: 'error', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

describe('createtoken on the command line', {
  skip: process.env.TEST_DATABASE_URL ? 'the CLI is the same on every database: run in the SQLite pass' : false,
}, () => {
  test('prints the same token twice, keeps the secret in an owner-only file outside the database, and stores only the hash', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-createtoken-'));
    try {
      const env = { DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite3')}`, TOKEN_SECRET_FILE: path.join(dir, 'secret', 'token-secret') };
      const first = await cli(['createtoken', 'cli_erin'], env);
      assert.equal(first.code, 0, first.stderr);
      const token = first.stdout.trim();
      assert.match(token, /^[0-9a-f]{64}$/);
      const second = await cli(['createtoken', 'cli_erin'], env);
      assert.equal(second.stdout.trim(), token);
      assert.equal(fs.statSync(env.TOKEN_SECRET_FILE).mode & 0o777, 0o600);
      // The database file and its write-ahead log, whatever of it was not checkpointed.
      const database = Buffer.concat(
        fs
          .readdirSync(dir)
          .filter((name) => name.startsWith('db.sqlite3'))
          .map((name) => fs.readFileSync(path.join(dir, name))),
      );
      assert.equal(database.includes(token), false, 'the token is in the database file');
      assert.equal(database.includes(sha256(token)), true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
