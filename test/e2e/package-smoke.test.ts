/**
 * The package as users get it: `npm pack` of the built repository (CI runs `npm run build` before the
 * tests), installed into an empty folder with the dependency versions of package-lock.json (and
 * nothing of the repository's manifest but the library's own), then a two-stream app that imports
 * `dcrf-gateway` from that folder answers DCRF frames over a real socket.
 * Runs in the SQLite pass only (scripts/run-tests.ts: `package-*` files).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TestSocket } from '../helpers/app.js';
import { ownModules, probeEntry } from '../helpers/entry-probe.js';
import { inPackedWorkspace, installLockedApp, run, skipUnlessBuilt, startProcess, writeLockedApp } from '../helpers/package.js';

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

test('the packed package installs into an empty folder and serves a two-stream app', {
  skip: skipUnlessBuilt,
  timeout: 120_000,
}, async () => {
  await inPackedWorkspace('dcrf-gateway-package-', async ({ dir: work, tarball, files }) => {
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
    writeLockedApp(folder, tarball, { name: 'smoke-app', private: true, type: 'module' });
    await installLockedApp(folder);

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
    const app = await startProcess(folder, ['app.mjs', path.join(folder, 'app.sqlite3')], /listening (\d+)/);
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
  });
});

test('a fresh install of the tarball with knex and objection: no EBADENGINE on this Node, one copy of each peer', {
  skip: skipUnlessBuilt,
  timeout: 180_000,
}, async () => {
  await inPackedWorkspace('dcrf-gateway-fresh-', async ({ dir: work, tarball }) => {
    const folder = path.join(work, 'app');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }));
    // No lockfile: npm resolves every range as a new user's install does (from the cache when it can).
    const install = await run(
      'npm',
      [
        'install',
        tarball,
        'knex',
        'objection',
        'better-sqlite3',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--loglevel=warn',
      ],
      folder,
    );
    assert.doesNotMatch(`${install.stdout}\n${install.stderr}`, /EBADENGINE/, `npm warned about an engine on Node ${process.version}`);
    for (const peer of ['objection', 'knex', 'graphql']) {
      const { stdout } = await run('npm', ['ls', peer, '--all', '--parseable'], folder);
      const copies = stdout.split('\n').filter(Boolean);
      assert.equal(copies.length, 1, `one copy of ${peer} in the app's tree: ${copies.join(', ')}`);
    }
  });
});
