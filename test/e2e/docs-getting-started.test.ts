/**
 * docs/getting-started.md as a user follows it, on this repository's source instead of the installed
 * package: its package.json and its TypeScript blocks, in order, are the app; the source CLI serves it
 * (`dcrf-gateway serve`, as the page says), and it answers alice, bob and a guest over real sockets, on
 * DCRF and GraphQL, the way the page says. test/e2e/package-getting-started.test.ts follows the same
 * page against the packed package.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestSocket } from '../helpers/app.js';
import { REPO_ROOT } from '../helpers/entry-probe.js';
import { execute, graphqlClient } from '../helpers/graphql.js';
import { namedBlock, typescriptBlocks } from '../helpers/markdown.js';
import { LISTENING_LINE, type StartedProcess, startProcess } from '../helpers/package.js';

/**
 * Inside the repository (git-ignored) so the app resolves knex and objection from the repository's
 * node_modules; its own package.json (the page's) keeps `dcrf-gateway` from naming the repository's
 * built copy, so the app and the CLI share the source.
 */
const DIR = path.join(REPO_ROOT, 'test/artifacts/getting-started');

let server: StartedProcess;
let wsUrl: string;
let database: string;

before(async () => {
  fs.rmSync(DIR, { recursive: true, force: true });
  fs.mkdirSync(DIR, { recursive: true });
  const markdown = fs.readFileSync(path.join(REPO_ROOT, 'docs/getting-started.md'), 'utf8');
  fs.writeFileSync(path.join(DIR, 'package.json'), namedBlock(markdown, 'package.json'));
  const source = typescriptBlocks(markdown)
    .join('\n')
    .replace(/from 'dcrf-gateway'/g, `from '${path.join(REPO_ROOT, 'src/index.ts')}'`);
  fs.writeFileSync(path.join(DIR, 'app.mts'), source);
  database = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'getting-started-')), 'todos.sqlite3');
  server = await startProcess(DIR, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli.ts'), 'serve', 'app.mts'], LISTENING_LINE, {
    DATABASE_URL: `sqlite:${database}`,
    PORT: '0',
    REDIS_URL: '',
    LOG_LEVEL: 'info',
  });
  wsUrl = `ws://127.0.0.1:${server.port}`;
});

after(async () => {
  await server?.stop();
  fs.rmSync(path.dirname(database), { recursive: true, force: true });
});

test('alice creates, subscribes and patches her todo: the reply, then the update event', async () => {
  const alice = await TestSocket.open(`${wsUrl}/ws/todos?token=alice-token`);
  const created = await alice.request({ action: 'create', data: { title: 'write docs', owner: 2 }, request_id: 1 });
  assert.equal(created.response_status, 201);
  assert.deepEqual(created.data, { id: created.data.id, title: 'write docs', done: false, owner: 1 }, 'the owner is the caller');
  const pk = created.data.id;
  assert.equal((await alice.request({ action: 'subscribe_instance', pk, request_id: 2 })).response_status, 201);
  alice.send({ action: 'patch', pk, data: { done: true }, request_id: 3 });
  const reply = await alice.next();
  const event = await alice.next();
  assert.deepEqual(reply, {
    errors: [],
    data: { id: pk, title: 'write docs', done: true, owner: 1 },
    action: 'patch',
    response_status: 200,
    request_id: 3,
  });
  assert.deepEqual(event, {
    errors: [],
    data: { id: pk, title: 'write docs', done: true, owner: 1 },
    action: 'update',
    response_status: 200,
    request_id: 2,
  });

  const bob = await TestSocket.open(`${wsUrl}/ws/todos?token=bob-token`);
  assert.equal((await bob.request({ action: 'retrieve', pk, request_id: 4 })).response_status, 404);
  assert.deepEqual((await bob.request({ action: 'list', request_id: 5 })).data, []);
  const bobGraphql = graphqlClient({ wsUrl }, { token: 'bob-token' });
  try {
    assert.deepEqual((await execute(bobGraphql, `{ todos { id } todo(id: ${pk}) { id } }`)).data, { todos: [], todo: null }, 'GraphQL too');
  } finally {
    await bobGraphql.dispose();
  }
  const cleared = await alice.request({ action: 'clear_done', request_id: 6 });
  assert.deepEqual(cleared.data, { removed: 1 });
  alice.close();
  bob.close();
});

test('the calculator stream and an anonymous socket', async () => {
  const mux = await TestSocket.open(`${wsUrl}/ws`);
  const sum = await mux.request({ stream: 'calculator', payload: { action: 'add', a: 2, b: 3, request_id: 1 } });
  assert.deepEqual(sum.payload.data, { sum: 5 });
  const refused = await mux.request({ stream: 'todos', payload: { action: 'list', request_id: 2 } });
  assert.equal(refused.payload.response_status, 403, 'IsAuthenticated refuses guests');
  mux.close();
});
