/**
 * examples/todo as a user gets it: the library packed (`npm pack`), the example copied out of the
 * repository and installed against the tarball (one copy of each peer), compiled with its own
 * tsconfig (declarations included), tokens issued through the app's authenticator by the installed
 * CLI, then `dcrf-gateway serve dist/app.js` driven over DCRF and GraphQL: one frame of each kind the
 * app defines, one GraphQL subscription event, the owner-only rule on both protocols.
 * Runs in the SQLite pass only (scripts/run-tests.ts: `package-*` files).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TestSocket } from '../helpers/app.js';
import { REPO_ROOT } from '../helpers/entry-probe.js';
import { execute, graphqlClient, subscribeLive } from '../helpers/graphql.js';
import { inPackedWorkspace, installLockedApp, run, skipUnlessBuilt, startProcess, writeLockedApp } from '../helpers/package.js';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'todo');

/** The example's sources, without what an install or a build left in the repository's copy. */
function copyExample(to: string): void {
  fs.cpSync(EXAMPLE, to, {
    recursive: true,
    filter: (source) => !/^(node_modules|dist|data)([/\\]|$)/.test(path.relative(EXAMPLE, source)),
  });
}

/** Every emitted declaration file under `dir`, by path relative to it. */
function declarations(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    if (name.endsWith('.d.ts')) found.set(name, fs.readFileSync(path.join(dir, name), 'utf8'));
  }
  return found;
}

test('examples/todo installs from the packed library, compiles with declarations, and serves DCRF and GraphQL', {
  skip: skipUnlessBuilt,
  timeout: 240_000,
}, async () => {
  await inPackedWorkspace('dcrf-gateway-todo-', async ({ dir: work, tarball }) => {
    const folder = path.join(work, 'todo');
    copyExample(folder);
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(manifest.dependencies['dcrf-gateway'], 'file:../..', 'the example depends on the library of its repository');
    writeLockedApp(folder, tarball, manifest as never);
    await installLockedApp(folder);

    for (const peer of ['objection', 'knex', 'graphql']) {
      const { stdout } = await run('npm', ['ls', peer, '--all', '--parseable'], folder);
      assert.equal(stdout.split('\n').filter(Boolean).length, 1, `one copy of ${peer} in the example's tree:\n${stdout}`);
    }

    await run(process.execPath, [path.join(folder, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], folder);
    const emitted = declarations(path.join(folder, 'dist'));
    for (const file of ['app.d.ts', 'todos.d.ts', 'models.d.ts', 'graphql.d.ts']) assert.ok(emitted.has(file), `tsc emitted dist/${file}`);
    for (const [file, text] of emitted) {
      assert.doesNotMatch(text, /node_modules\/dcrf-gateway\/dist/, `dist/${file} names the library's types through 'dcrf-gateway' only`);
    }

    const env = { DATABASE_URL: `sqlite:${path.join(folder, 'data', 'todos.sqlite3')}`, LOG_LEVEL: 'info' };
    const cli = path.join(folder, 'node_modules', '.bin', 'dcrf-gateway');
    const migrated = await run(cli, ['migrate', 'dist/app.js'], folder, env);
    assert.match(migrated.stderr, /"msg":"migrations applied".*0001-users-and-todos/);
    const alice = (await run(cli, ['createtoken', 'alice', '--app', 'dist/app.js'], folder, env)).stdout.trim();
    const bob = (await run(cli, ['createtoken', 'bob', '--app', 'dist/app.js'], folder, env)).stdout.trim();
    assert.match(alice, /^[0-9a-f]{64}$/);

    const server = await startProcess(folder, [cli, 'serve', 'dist/app.js', '--port', '0'], /"http":"http:\/\/127\.0\.0\.1:(\d+)"/, env);
    const wsUrl = `ws://127.0.0.1:${server.port}`;
    const aliceGraphql = graphqlClient({ wsUrl }, { token: alice });
    try {
      const socket = await TestSocket.open(`${wsUrl}/ws/todos?token=${alice}`);
      const created = await socket.request({ action: 'create', data: { title: 'ship the example', owner: 999 }, request_id: 1 });
      assert.equal(created.response_status, 201, JSON.stringify(created));
      const id = created.data.id as number;
      assert.deepEqual(created.data, { id, title: 'ship the example', done: false, owner_id: 1 }, 'the owner is the caller, not the frame');
      const subscribed = await socket.request({ action: 'subscribe_instance', pk: id, request_id: 2 });
      assert.equal(subscribed.response_status, 201);

      const changes = await subscribeLive(aliceGraphql, 'subscription ($id: ID!) { todoChanged(id: $id) { action data { id done } } }', {
        id,
      });
      const toggled = await socket.request({ action: 'toggle', pk: id, request_id: 3 });
      assert.deepEqual([toggled.response_status, toggled.data.done], [200, true], JSON.stringify(toggled));
      const event = await socket.next(10_000);
      assert.deepEqual([event.action, event.request_id, event.data.done], ['update', 2, true], 'the DCRF subscriber gets the update');
      assert.deepEqual((await changes.next(10_000)).data, { todoChanged: { action: 'UPDATE', data: { id: String(id), done: true } } });
      changes.dispose();

      const bobSocket = await TestSocket.open(`${wsUrl}/ws/todos?token=${bob}`);
      const refused = await bobSocket.request({ action: 'patch', pk: id, data: { title: 'mine now' }, request_id: 4 });
      assert.equal(refused.response_status, 403, 'owner only over DCRF');
      const listed = await bobSocket.request({ action: 'list', request_id: 5 });
      assert.deepEqual(
        listed.data.map((todo: { id: number }) => todo.id),
        [id],
        'everyone signed in sees the board',
      );
      const bobGraphql = graphqlClient({ wsUrl }, { token: bob });
      const forbidden = await execute(bobGraphql, 'query ($id: ID!) { todo(id: $id) { title } }', { id });
      assert.equal(forbidden.errors?.[0]?.extensions?.code, 'FORBIDDEN', 'owner only over GraphQL');
      await bobGraphql.dispose();
      socket.close();
      bobSocket.close();
    } finally {
      await aliceGraphql.dispose();
      await server.stop();
    }

    // A dcrf-gateway command from elsewhere (the repository's, another copy of the library): the app is
    // still made by the copy it imports, so its writes reach its subscribers.
    const foreign = await startProcess(
      REPO_ROOT,
      ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli.ts'), 'serve', path.join(folder, 'dist', 'app.js'), '--port', '0'],
      /"http":"http:\/\/127\.0\.0\.1:(\d+)"/,
      env,
    );
    try {
      const socket = await TestSocket.open(`ws://127.0.0.1:${foreign.port}/ws/todos?token=${alice}`);
      const { id } = (await socket.request({ action: 'create', data: { title: 'from afar' }, request_id: 1 })).data as { id: number };
      assert.equal((await socket.request({ action: 'subscribe_instance', pk: id, request_id: 2 })).response_status, 201);
      assert.equal((await socket.request({ action: 'toggle', pk: id, request_id: 3 })).response_status, 200);
      const event = await socket.next(10_000);
      assert.deepEqual([event.action, event.request_id], ['update', 2], 'the write is an event under a command of another copy');
      socket.close();
    } finally {
      await foreign.stop();
    }

    // Without the CLI: `node dist/app.js` starts itself (the module knows it is the entry point).
    const direct = await startProcess(folder, ['dist/app.js'], /"http":"http:\/\/127\.0\.0\.1:(\d+)"/, { ...env, PORT: '0' });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${direct.port}/healthz`)).status, 200);
    } finally {
      await direct.stop();
    }
  });
});
