/**
 * The package as users get it: `npm pack` of the built repository (CI runs `npm run build` before the
 * tests), installed into an empty folder with the dependency versions of package-lock.json, then a
 * two-stream app that imports `dcrf-gateway` from that folder answers DCRF frames over a real socket.
 * Runs in the SQLite pass only (scripts/run-tests.ts: `package-*` files).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestSocket } from '../helpers/app.js';
import { ownModules, probeEntry, REPO_ROOT } from '../helpers/entry-probe.js';

const BUILT_ENTRY = path.join(REPO_ROOT, 'dist', 'src', 'index.js');
const MISSING_BUILD = 'dist/src/index.js is missing: run `npm run build` before this test';
const skip = !fs.existsSync(BUILT_ENTRY) && process.env.CI !== 'true' ? MISSING_BUILD : false;

interface PackageJson {
  version: string;
  license: string;
  dependencies: Record<string, string>;
  overrides?: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  link?: boolean;
  [key: string]: unknown;
}

/** Runs a command to its end; rejects with its output when it fails. */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${stdout}\n${stderr}`));
    });
  });
}

/**
 * An app folder that depends on the tarball alone, with a lockfile made of the repository's own
 * (its production entries): `npm ci` installs the versions the suite ran against, from the npm cache
 * when it has them. The repository's overrides are repeated: npm applies a package's overrides only
 * where it is the root, so its users do not get them (the @graphql-tools/merge pin among them).
 */
function writeAppFolder(folder: string, tarball: string): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;
  const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const spec = `file:${tarball}`;
  const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name: 'smoke-app', dependencies: { 'dcrf-gateway': spec } },
    'node_modules/dcrf-gateway': {
      version: manifest.version,
      resolved: spec,
      integrity,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key.startsWith('node_modules/') && !entry.dev && !entry.link) packages[key] = entry;
  }
  const app = { name: 'smoke-app', private: true, type: 'module', dependencies: { 'dcrf-gateway': spec }, overrides: manifest.overrides };
  fs.writeFileSync(path.join(folder, 'package.json'), JSON.stringify(app, null, 2));
  fs.writeFileSync(
    path.join(folder, 'package-lock.json'),
    JSON.stringify({ name: 'smoke-app', lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}

/**
 * better-sqlite3 is installed without running its build (no network, no compiler in the test): the
 * repository's own build of the same version is copied in.
 */
function copyNativeSqlite(folder: string): void {
  const from = path.join(REPO_ROOT, 'node_modules', 'better-sqlite3');
  const to = path.join(folder, 'node_modules', 'better-sqlite3');
  const version = (dir: string) => (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(version(to), version(from), 'the app got the better-sqlite3 version of package-lock.json');
  fs.cpSync(path.join(from, 'build', 'Release', 'better_sqlite3.node'), path.join(to, 'build', 'Release', 'better_sqlite3.node'));
}

/** The app: two streams (a model-backed one on SQLite and one without a model), on a free port. */
const APP = `
import {
  AsyncAPIConsumer, CreateModelMixin, Gateway, GenericAsyncAPIConsumer, ListModelMixin, LiveModel,
  migrate, modelSerializer, openDatabase, registerAction, Runtime,
} from 'dcrf-gateway';

class Note extends LiveModel {
  static tableName = 'notes';
  static jsonSchema = {
    type: 'object',
    required: ['text'],
    properties: { id: { type: 'integer' }, text: { type: 'string', maxLength: 100 } },
  };
}

class NoteConsumer extends CreateModelMixin(ListModelMixin(GenericAsyncAPIConsumer)) {
  static queryset = Note;
  static serializerClass = modelSerializer(Note, { fields: ['id', 'text'] });
}

class Calculator extends AsyncAPIConsumer {
  add(args) {
    return [{ sum: Number(args.a) + Number(args.b) }, 200];
  }
}
registerAction(Calculator, 'add');

const knex = openDatabase('sqlite:' + process.argv[2]);
await migrate(knex, [{ name: '0001-notes', up: (db) => db.schema.createTable('notes', (t) => { t.increments('id'); t.string('text', 100); }) }]);
LiveModel.knex(knex);
const runtime = await Runtime.create({ knex });
const gateway = new Gateway({ runtime, streams: { notes: NoteConsumer, calculator: Calculator } });
const port = await gateway.listen(0);
process.stdout.write('listening ' + port + '\\n');
process.once('SIGTERM', async () => {
  await gateway.close();
  await runtime.close();
  await knex.destroy();
});
`;

/** Starts `node app.mjs` in `folder`; resolves with its port and a stop function. */
async function startApp(folder: string): Promise<{ port: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['app.mjs', path.join(folder, 'app.sqlite3')], { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => reject(new Error(`the app exited with ${code}:\n${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

test('the packed package installs into an empty folder and serves a two-stream app', { skip, timeout: 120_000 }, async () => {
  assert.ok(fs.existsSync(BUILT_ENTRY), `${MISSING_BUILD} (CI builds first)`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-gateway-package-'));
  try {
    // --ignore-scripts: the build is the one under test (prepack would rebuild it).
    const [packed] = JSON.parse(await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], REPO_ROOT)) as [
      { filename: string; files: Array<{ path: string }> },
    ];
    const files = packed.files.map((file) => file.path);
    for (const expected of ['package.json', 'README.md', 'LICENSE', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli.js']) {
      assert.ok(files.includes(expected), `the package holds ${expected}`);
    }
    assert.ok(files.includes('playground/dist/index.html'), 'the package holds the built playground');
    assert.ok(files.includes('schema/demo.graphql'), "the package holds the demo's schema (the CLI serves the demo)");
    assert.deepEqual(
      files.filter((file) => /^(test|bench|scripts|src|playground\/src)\//.test(file) || /(^|\/)[^/]+\.test\.[jt]s$/.test(file)),
      [],
      'no test, bench, script or TypeScript source is packed',
    );

    const folder = path.join(work, 'app');
    fs.mkdirSync(folder);
    writeAppFolder(folder, path.join(work, packed.filename));
    await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], folder);
    copyNativeSqlite(folder);

    const installed = path.join(folder, 'node_modules', 'dcrf-gateway');
    const { exports } = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')) as {
      exports: Record<string, string | { types: string; default: string }>;
    };
    for (const [subpath, target] of Object.entries(exports)) {
      const files = typeof target === 'string' ? [target] : [target.types, target.default];
      for (const file of files) assert.ok(fs.existsSync(path.join(installed, file)), `the package holds ${file} (export ${subpath})`);
      if (typeof target === 'string') continue;
      const imported = await probeEntry(path.join(installed, target.default));
      const demo = ownModules(imported, installed).filter((file) => file.startsWith('dist/src/demo/'));
      assert.deepEqual(demo, [], `importing dcrf-gateway${subpath.slice(1)} loads no demo module`);
      assert.deepEqual(imported.globals, [], `nor defines a global (${subpath})`);
    }

    fs.writeFileSync(path.join(folder, 'app.mjs'), APP);
    const app = await startApp(folder);
    try {
      const socket = await TestSocket.open(`ws://127.0.0.1:${app.port}/ws`);
      const sum = await socket.request({ stream: 'calculator', payload: { action: 'add', a: 2, b: 3, request_id: 1 } });
      assert.deepEqual(sum, {
        stream: 'calculator',
        payload: { errors: [], data: { sum: 5 }, action: 'add', response_status: 200, request_id: 1 },
      });
      const created = await socket.request({ stream: 'notes', payload: { action: 'create', data: { text: 'packed' }, request_id: 2 } });
      assert.deepEqual(created, {
        stream: 'notes',
        payload: { errors: [], data: { id: 1, text: 'packed' }, action: 'create', response_status: 201, request_id: 2 },
      });
      socket.close();
    } finally {
      await app.stop();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
