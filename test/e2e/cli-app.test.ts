/**
 * The CLI with an app module of the user's (`dcrf-gateway serve ./app.js`): the module's default export
 * (createApp options, or a function returning them) is served, migrated and asked for tokens, on the
 * pass's database (a fresh SQLite file, or a fresh PostgreSQL database with Redis); a module that is
 * missing or exports the wrong thing is one sentence and exit code 2, before anything starts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestSocket } from '../helpers/app.js';
import { REPO_ROOT } from '../helpers/entry-probe.js';
import { createTestDatabase, type TestDatabase, uniqueRedisPrefix } from '../helpers/postgres.js';

const LIBRARY = path.join(REPO_ROOT, 'src', 'index.ts');

/** An app module: notes (a model, a migration, a consumer), a GraphQL schema, tokens that name their user. */
const NOTES_APP = `
import { CreateModelMixin, GenericAsyncAPIConsumer, ListModelMixin, LiveModel, modelSerializer } from '${LIBRARY}';

class Note extends LiveModel {
  static tableName = 'cli_notes';
  static jsonSchema = { type: 'object', required: ['text'], properties: { id: { type: 'integer' }, text: { type: 'string' } } };
}

class NoteConsumer extends CreateModelMixin(ListModelMixin(GenericAsyncAPIConsumer)) {
  static queryset = Note;
  static serializerClass = modelSerializer(Note, { fields: ['id', 'text'] });
}

const authenticator = {
  async authenticate(token) {
    return token.startsWith('token-of-') ? { id: 1, username: token.slice('token-of-'.length) } : null;
  },
  async createToken(username) {
    await Note.query().insert({ text: 'token for ' + username });
    return 'token-of-' + username;
  },
};

// A function, as an app that reads its settings when it starts would export.
export default async () => ({
  streams: { notes: NoteConsumer },
  migrations: [{ name: '0001-cli-notes', up: (knex) => knex.schema.createTable('cli_notes', (t) => { t.increments('id'); t.text('text'); }) }],
  authenticator,
  schema: {
    typeDefs: 'type Query { hello: String! }',
    resolvers: { Query: { hello: (_root, _args, context) => 'hello ' + (context.scope.user?.username ?? 'anonymous') } },
  },
});
`;

let dir: string;
let database: TestDatabase | undefined;
let env: Record<string, string>;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-app-'));
  database = process.env.TEST_DATABASE_URL ? await createTestDatabase(process.env.TEST_DATABASE_URL) : undefined;
  env = {
    DATABASE_URL: database?.url ?? `sqlite:${path.join(dir, 'notes.sqlite3')}`,
    ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL, REDIS_PREFIX: uniqueRedisPrefix() } : {}),
    LOG_LEVEL: 'info',
  };
  fs.writeFileSync(path.join(dir, 'app.mjs'), NOTES_APP);
});

after(async () => {
  await database?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The CLI from source, as a process; resolves once it exits. */
function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, ...extraEnv },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The JSON log lines of a run. */
function logLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test("migrate <module> applies the app's migrations and the change log's, once", async () => {
  const first = await cli(['migrate', path.join(dir, 'app.mjs')]);
  assert.equal(first.code, 0, first.stderr);
  const applied = logLines(first.stderr).find((line) => line.msg === 'migrations applied');
  assert.deepEqual(applied?.applied, ['0001-cli-notes', 'dcrf-0001-change-log', 'dcrf-0002-change-log-rowid']);
  const again = await cli(['migrate', path.join(dir, 'app.mjs')]);
  assert.deepEqual(logLines(again.stderr).find((line) => line.msg === 'migrations applied')?.applied, []);
});

test("createtoken <user> --app <module> prints the token of the app's authenticator", async () => {
  const run = await cli(['createtoken', 'carol', '--app', path.join(dir, 'app.mjs')]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'token-of-carol\n');
  const without = path.join(dir, 'no-tokens.mjs');
  fs.writeFileSync(
    without,
    `import { AsyncAPIConsumer } from '${LIBRARY}';\nexport default { streams: { echo: class extends AsyncAPIConsumer {} } };\n`,
  );
  const refused = await cli(['createtoken', 'carol', '--app', without]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /no-tokens\.mjs cannot issue tokens: it has no authenticator/);
});

test('serve <module> serves the app: DCRF, GraphQL with its authenticator, health, streams; SIGTERM stops it cleanly', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli.ts'), 'serve', path.join(dir, 'app.mjs'), '--port', '0'],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
    },
  );
  let stderr = '';
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const line = logLines(stderr).find((entry) => entry.msg === 'dcrf-gateway listening');
      if (line) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = String(listening.http);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(listening.graphql, `${url}/graphql`);
    assert.equal(listening.pubsub, process.env.TEST_REDIS_URL ? 'redis' : 'in-process');

    const socket = await TestSocket.open(`${url.replace('http', 'ws')}/ws/notes`);
    const created = await socket.request({ action: 'create', data: { text: 'from the module' }, request_id: 1 });
    assert.equal(created.response_status, 201, JSON.stringify(created));
    assert.equal(created.data.text, 'from the module');
    socket.close();

    const graphql = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer token-of-dave' },
      body: JSON.stringify({ query: '{ hello }' }),
    });
    assert.deepEqual(await graphql.json(), { data: { hello: 'hello dave' } });
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const streams = (await (await fetch(`${url}/api/streams`)).json()) as Record<string, unknown>;
    assert.ok(JSON.stringify(streams).includes('notes'), "the streams description lists the app's stream");
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr);
  assert.ok(
    logLines(stderr).some((line) => line.msg === 'stopped'),
    'the shutdown was the graceful one',
  );
});

test('a module that is missing or exports the wrong thing: one sentence, exit 2, nothing started', async () => {
  const write = (name: string, source: string) => {
    fs.writeFileSync(path.join(dir, name), source);
    return path.join(dir, name);
  };
  const cases: Array<[string, RegExp]> = [
    [path.join(dir, 'missing.js'), /the app module .*missing\.js does not exist \(looked for .*missing\.js\)/],
    [path.join(dir, 'app.ts'), /app\.ts does not exist .*: compile it first \(tsc\) and name the \.js file/],
    [
      write('named.mjs', 'export const streams = {};\n'),
      /named\.mjs has no default export \(it exports streams\): export default the createApp options/,
    ],
    [
      write('shape.mjs', 'export default { port: 8000 };\n'),
      /the default export of .*shape\.mjs is an object with port, not app options \(no `streams`\)/,
    ],
    [
      write('throws.mjs', "export default () => { throw new Error('no settings'); };\n"),
      /throws\.mjs: its default export threw: no settings/,
    ],
    [write('broken.mjs', "import './nowhere.mjs';\nexport default {};\n"), /broken\.mjs failed to load: Cannot find module/],
    // Compiled to CommonJS (no "type": "module"): the export is read one level down, as from ESM.
    [
      write(
        'compiled.cjs',
        '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.default = { port: 8000 };\n',
      ),
      /the default export of .*compiled\.cjs is an object with port, not app options/,
    ],
  ];
  for (const [file, message] of cases) {
    const run = await cli(['serve', file]);
    assert.equal(run.code, 2, `${file}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /listening/);
  }
  const twice = await cli(['serve', path.join(dir, 'app.mjs'), '--app', path.join(dir, 'app.mjs')]);
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /serve: name the app module once, as the argument or --app/);
});
