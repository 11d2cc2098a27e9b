/**
 * docs/getting-started.md followed from an empty folder against the packed library, as a user follows
 * it: the page's package.json, its `npm install` lines (installed offline from the repository's
 * lockfile), its tsconfig.json, its TypeScript blocks as app.ts, its `npx tsc` and `npx dcrf-gateway
 * serve` commands, then its DCRF frames and its GraphQL subscription over real sockets.
 * Runs in the SQLite pass only (scripts/run-tests.ts: `package-*` files).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TestSocket } from '../helpers/app.js';
import { REPO_ROOT } from '../helpers/entry-probe.js';
import { graphqlClient, subscribeLive } from '../helpers/graphql.js';
import { fencedBlocks, namedBlock, shellCommands, typescriptBlocks } from '../helpers/markdown.js';
import {
  inPackedWorkspace,
  installedDependencies,
  installLockedApp,
  LISTENING_LINE,
  localBin,
  run,
  skipUnlessBuilt,
  startProcess,
  writeLockedApp,
} from '../helpers/package.js';

const PAGE = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'getting-started.md'), 'utf8');

/** The page's one command that starts with `prefix`. */
function pageCommand(prefix: string): string {
  const found = shellCommands(PAGE).filter((command) => command.startsWith(prefix));
  assert.equal(found.length, 1, `the page has one \`${prefix} ...\` command: ${JSON.stringify(found)}`);
  return found[0] as string;
}

/** The DCRF frames the page sends, block by block (its unnamed ```json blocks hold one frame a line). */
function pageFrames(): Array<Array<Record<string, unknown>>> {
  return fencedBlocks(PAGE)
    .filter((block) => block.language === 'json' && !block.name)
    .map((block) =>
      block.code
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    );
}

test('docs/getting-started.md from an empty folder against the packed library: install, tsc, serve, a DCRF frame, a GraphQL event', {
  skip: skipUnlessBuilt,
  timeout: 240_000,
}, async () => {
  await inPackedWorkspace('dcrf-gateway-getting-started-', async ({ dir: work, tarball }) => {
    const folder = path.join(work, 'todo-app');
    fs.mkdirSync(folder);

    const manifest = JSON.parse(namedBlock(PAGE, 'package.json')) as { name: string };
    const installed = installedDependencies(shellCommands(PAGE));
    assert.ok('dcrf-gateway' in installed.dependencies, 'the page installs dcrf-gateway');
    writeLockedApp(folder, tarball, { ...manifest, ...installed });
    await installLockedApp(folder);
    fs.writeFileSync(path.join(folder, 'tsconfig.json'), namedBlock(PAGE, 'tsconfig.json'));
    fs.writeFileSync(path.join(folder, 'app.ts'), typescriptBlocks(PAGE).join('\n'));

    await run(process.execPath, localBin(folder, pageCommand('npx tsc')), folder);
    assert.ok(fs.existsSync(path.join(folder, 'dist', 'app.js')), 'tsc wrote dist/app.js, the module the page serves');

    const database = `sqlite:${path.join(folder, 'todos.sqlite3')}`;
    const server = await startProcess(folder, localBin(folder, pageCommand('npx dcrf-gateway serve')), LISTENING_LINE, {
      PORT: '0',
      DATABASE_URL: database,
      REDIS_URL: '',
      LOG_LEVEL: 'info',
    });
    const wsUrl = `ws://127.0.0.1:${server.port}`;
    const graphql = graphqlClient({ wsUrl }, { token: 'alice-token' });
    try {
      const frames = pageFrames();
      assert.equal(frames.length, 2, 'the page sends its frames in two blocks: create and subscribe, then patch');
      const [[create, subscribe], [patch]] = frames as [[object, object], [object]];
      const socket = await TestSocket.open(`${wsUrl}/ws/todos?token=alice-token`);
      const created = await socket.request(create);
      assert.deepEqual(created, {
        errors: [],
        data: { id: 1, title: 'write docs', done: false, owner: 1 },
        action: 'create',
        response_status: 201,
        request_id: 1,
      });
      assert.equal((await socket.request(subscribe)).response_status, 201);

      const [subscription] = fencedBlocks(PAGE).filter((block) => block.language === 'graphql');
      assert.ok(subscription, 'the page has a GraphQL subscription');
      const changes = await subscribeLive(graphql, subscription.code);
      socket.send(patch);
      const reply = await socket.next(10_000);
      const event = await socket.next(10_000);
      assert.deepEqual([reply.action, reply.response_status, reply.request_id], ['patch', 200, 3], 'the patch reply first');
      assert.deepEqual([event.action, event.request_id, event.data.done], ['update', 2, true], 'then the DCRF update event');
      assert.deepEqual((await changes.next(10_000)).data, {
        todoChanged: { action: 'UPDATE', data: { id: '1', title: 'write docs', done: true } },
      });
      changes.dispose();
      socket.close();
    } finally {
      await graphql.dispose();
      await server.stop();
    }
  });
});
