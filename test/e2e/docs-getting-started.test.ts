/**
 * docs/getting-started.md as a user follows it: its TypeScript blocks, in order, are the app; it runs
 * (on this repository's source instead of the installed package) and answers alice and bob over real
 * sockets the way the page says.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { TestSocket } from '../helpers/app.js';
import { typescriptBlocks } from '../helpers/markdown.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Inside the repository (git-ignored) so the app resolves its packages from the repository's node_modules. */
const DIR = path.join(ROOT, 'test/artifacts/getting-started');

let app: ChildProcess;
let port: number;
let database: string;

before(async () => {
  fs.mkdirSync(DIR, { recursive: true });
  const markdown = fs.readFileSync(path.join(ROOT, 'docs/getting-started.md'), 'utf8');
  const source = typescriptBlocks(markdown)
    .join('\n')
    .replace(/from 'dcrf-gateway'/g, `from '${path.join(ROOT, 'src/index.ts')}'`);
  fs.writeFileSync(path.join(DIR, 'app.mts'), source);
  database = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'getting-started-')), 'todos.sqlite3');
  app = spawn(process.execPath, ['--import', 'tsx', path.join(DIR, 'app.mts')], {
    cwd: DIR,
    env: { ...process.env, DATABASE_URL: `sqlite:${database}`, PORT: '0', REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  port = await new Promise<number>((resolve, reject) => {
    const lines = readline.createInterface({ input: app.stdout! });
    lines.on('line', (line) => {
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(line);
      if (match) resolve(Number(match[1]));
    });
    app.once('exit', (code) => reject(new Error(`the app exited ${code} before listening`)));
  });
});

after(async () => {
  if (app.exitCode === null) {
    const exited = new Promise((resolve) => app.once('exit', resolve));
    app.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(path.dirname(database), { recursive: true, force: true });
});

test('alice creates, subscribes and patches her todo: the reply, then the update event', async () => {
  const alice = await TestSocket.open(`ws://127.0.0.1:${port}/ws/todos?token=alice-token`);
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

  const bob = await TestSocket.open(`ws://127.0.0.1:${port}/ws/todos?token=bob-token`);
  assert.equal((await bob.request({ action: 'retrieve', pk, request_id: 4 })).response_status, 404);
  assert.deepEqual((await bob.request({ action: 'list', request_id: 5 })).data, []);
  const cleared = await alice.request({ action: 'clear_done', request_id: 6 });
  assert.deepEqual(cleared.data, { removed: 1 });
  alice.close();
  bob.close();
});

test('the calculator stream and an anonymous socket', async () => {
  const mux = await TestSocket.open(`ws://127.0.0.1:${port}/ws`);
  const sum = await mux.request({ stream: 'calculator', payload: { action: 'add', a: 2, b: 3, request_id: 1 } });
  assert.deepEqual(sum.payload.data, { sum: 5 });
  const refused = await mux.request({ stream: 'todos', payload: { action: 'list', request_id: 2 } });
  assert.equal(refused.payload.response_status, 403, 'IsAuthenticated refuses guests');
  mux.close();
});
