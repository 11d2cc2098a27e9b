/**
 * Mistakes in an app's definitions stop the start with one line naming the stream, the consumer and
 * the fix (issue 17), instead of a 500 on the first frame or a subscription that never hears a thing:
 * a generic consumer without a serializer or a model, a model whose table is not in the database, a
 * runtime without a database, subscriptions over a plain Objection Model (on a consumer, a model
 * observer or a GraphQL binding), and `@action` compiled as a legacy decorator (a real TypeScript
 * compile with `experimentalDecorators`), which used to make the action vanish (clients got 405).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import { Model } from 'objection';
import ts from 'typescript';
import {
  bindResource,
  buildGraphQLSchema,
  createGraphQLAdapter,
  GenericAsyncAPIConsumer,
  LiveModel,
  modelObserver,
  modelSerializer,
  ObserverModelInstanceMixin,
  openDatabase,
  Resource,
  RetrieveModelMixin,
  Runtime,
  type ConsumerClass,
} from '../../src/index.js';
import { StartupCheckError } from '../../src/server/startup-checks.js';
import { TestSocket, reply } from '../helpers/app.js';
import { startGateway } from '../helpers/hardening.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const LIBRARY = pathToFileURL(path.join(ROOT, 'src/index.ts')).href;

/** Runs `dcrf-gateway serve <module>` from source; its exit code and stderr. */
function serve(module: string): { status: number | null; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'serve', module, '--port', '0'], {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'info' },
    timeout: 60_000,
  });
  return { status: run.status, stderr: run.stderr };
}

class Memo extends LiveModel {
  static override tableName = 'memos';
  static override jsonSchema = { type: 'object', properties: { id: { type: 'integer' }, text: { type: 'string' } } };
}

/** A model whose table no migration made. */
class Ghost extends LiveModel {
  static override tableName = 'ghosts';
}

/** A plain Objection model over a table that exists: its writes are no events. */
class PlainMemo extends Model {
  static override tableName = 'memos';
}

const MemoSerializer = modelSerializer(Memo, { fields: ['id', 'text'] });

class MemoConsumer extends RetrieveModelMixin(GenericAsyncAPIConsumer) {
  static override queryset = Memo;
  static override serializerClass = MemoSerializer;
}

class NoSerializerConsumer extends RetrieveModelMixin(GenericAsyncAPIConsumer) {
  static override queryset = Memo;
}

class NoModelConsumer extends RetrieveModelMixin(GenericAsyncAPIConsumer) {
  static override serializerClass = MemoSerializer;
}

class GhostConsumer extends RetrieveModelMixin(GenericAsyncAPIConsumer) {
  static override queryset = Ghost;
  static override serializerClass = MemoSerializer;
}

class PlainMemoConsumer extends ObserverModelInstanceMixin(RetrieveModelMixin(GenericAsyncAPIConsumer)) {
  static override queryset = PlainMemo;
  static override serializerClass = MemoSerializer;
}

/** Reading a plain model is fine: only subscribing to one is refused. */
class PlainReaderConsumer extends RetrieveModelMixin(GenericAsyncAPIConsumer) {
  static override queryset = PlainMemo;
  static override serializerClass = MemoSerializer;
}

const streams = (entries: Record<string, unknown>) => entries as Record<string, ConsumerClass>;

describe('startup checks: the gateway refuses to start over a broken definition', () => {
  let database: TestDatabase | undefined;
  let dir: string;
  let knex: Knex;
  let runtime: Runtime;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'startup-checks-'));
    database = process.env.TEST_DATABASE_URL ? await createTestDatabase(process.env.TEST_DATABASE_URL) : undefined;
    knex = openDatabase(database?.url ?? `sqlite:${path.join(dir, 'checks.sqlite3')}`);
    await knex.schema.createTable('memos', (table) => {
      table.increments('id');
      table.string('text');
    });
    await knex('memos').insert({ text: 'first' });
    runtime = await Runtime.create({ knex });
  });
  after(async () => {
    await runtime?.close();
    await knex?.destroy();
    await database?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What starting a gateway over `entries` (and a GraphQL schema) says: the StartupCheckError's message, or "started". */
  async function start(
    entries: Record<string, unknown>,
    on: Runtime = runtime,
    schema?: Parameters<typeof createGraphQLAdapter>[0]['schema'],
  ): Promise<string> {
    try {
      const graphql = schema ? createGraphQLAdapter({ schema }) : undefined;
      const gateway = await startGateway({ runtime: on, streams: streams(entries), ...(graphql ? { graphql } : {}) });
      await gateway.close();
      return 'started';
    } catch (error) {
      assert.ok(error instanceof StartupCheckError, String(error));
      assert.doesNotMatch(error.message, /\n/, 'one line');
      return error.message;
    }
  }

  test('a sound app starts, and serves (a plain model may be read, only not subscribed to)', async () => {
    const gateway = await startGateway({ runtime, streams: streams({ memos: MemoConsumer, plain: PlainReaderConsumer }) });
    try {
      const socket = await TestSocket.open(`${gateway.wsUrl}/ws/memos/`);
      assert.deepEqual(
        await socket.request({ action: 'retrieve', pk: 1, request_id: 1 }),
        reply('retrieve', { id: 1, text: 'first' }, 200, 1),
      );
      socket.close();
    } finally {
      await gateway.close();
    }
  });

  test('a consumer without a serializer, or without a model: the stream, the consumer and the fix', async () => {
    assert.equal(
      await start({ memos: MemoConsumer, drafts: NoSerializerConsumer }),
      'Stream "drafts" (NoSerializerConsumer) has no serializer: set static serializerClass = YourSerializer (or static resource = a Resource).',
    );
    assert.equal(
      await start({ notes: NoModelConsumer }),
      'Stream "notes" (NoModelConsumer) has no model: set static queryset = YourModel (or static resource = a Resource).',
    );
  });

  test('a model whose table does not exist, and a runtime without a database', async () => {
    assert.equal(
      await start({ ghosts: GhostConsumer }),
      `Stream "ghosts" (GhostConsumer): the table "ghosts" of the model Ghost does not exist in the database: run the app's migrations (or fix Ghost.tableName).`,
    );
    const bare = await Runtime.create();
    try {
      assert.equal(
        await start({ memos: MemoConsumer }, bare),
        'Stream "memos" (MemoConsumer) uses the model Memo, but the runtime has no database: create it with Runtime.create({ knex }).',
      );
    } finally {
      await bare.close();
    }
  });

  test('a resource served only through GraphQL whose table does not exist, named by its field', async () => {
    const typeDefs = 'type Memo { id: ID! text: String } type Query { memo(id: ID!): Memo ghost(id: ID!): Memo memos: [Memo!]! }';
    const memos = new Resource({ model: Memo, serializer: MemoSerializer, name: 'memos' });
    const ghosts = new Resource({ model: Ghost, serializer: MemoSerializer, name: 'ghosts' });
    const sound = buildGraphQLSchema({
      typeDefs: 'type Memo { id: ID! text: String } type Query { memo(id: ID!): Memo memos: [Memo!]! }',
      resolvers: [bindResource(memos, { get: 'memo', list: 'memos' })],
    });
    assert.equal(await start({ memos: MemoConsumer }, runtime, sound), 'started');
    const broken = buildGraphQLSchema({
      typeDefs,
      resolvers: [bindResource(memos, { get: 'memo', list: 'memos' }), bindResource(ghosts, { get: 'ghost' })],
    });
    assert.equal(
      await start({ memos: MemoConsumer }, runtime, broken),
      `GraphQL field Query.ghost (resource ghosts): the table "ghosts" of the model Ghost does not exist in the database: run the app's migrations (or fix Ghost.tableName).`,
    );
  });

  test('subscriptions over a plain Model: a consumer at start; a model observer and a GraphQL binding where they are defined', async () => {
    assert.equal(
      await start({ plain: PlainMemoConsumer }),
      'Stream "plain" (PlainMemoConsumer) (subscribe_instance) subscribes to PlainMemo, a plain Objection Model whose writes send no event: ' +
        "make PlainMemo extend LiveModel (import { LiveModel } from 'dcrf-gateway') instead of Model.",
    );
    assert.throws(() => modelObserver(PlainMemo, { name: 'plain_activity' }), {
      name: 'TypeError',
      message: /^modelObserver "plain_activity" subscribes to PlainMemo, a plain Objection Model .*make PlainMemo extend LiveModel/,
    });
    const plainResource = new Resource({ model: PlainMemo, serializer: MemoSerializer, name: 'plain_memos' });
    assert.throws(() => bindResource(plainResource, { get: 'memo', changed: 'memoChanged' }), {
      name: 'TypeError',
      message: /^bindResource\(plain_memos\) \(memoChanged\) subscribes to PlainMemo, a plain Objection Model/,
    });
    // Reading it is fine.
    assert.ok(bindResource(plainResource, { get: 'memo' }).Query);
  });

  test('the CLI serving an app module with such a mistake prints the one line and exits 1', () => {
    const module = path.join(dir, 'broken-app.mjs');
    fs.writeFileSync(
      module,
      `import { GenericAsyncAPIConsumer, LiveModel, RetrieveModelMixin } from '${LIBRARY}';
       class Ghost extends LiveModel { static tableName = 'ghosts'; }
       class GhostConsumer extends RetrieveModelMixin(GenericAsyncAPIConsumer) { static queryset = Ghost; }
       export default { streams: { ghosts: GhostConsumer }, database: 'sqlite:${path.join(dir, 'cli-app.sqlite3')}', migrations: [] };`,
    );
    const run = serve(module);
    assert.equal(run.status, 1, run.stderr);
    const lines = run.stderr.split('\n').filter((line) => line.startsWith('dcrf-gateway: '));
    assert.deepEqual(lines, [
      'dcrf-gateway: Stream "ghosts" (GhostConsumer) has no serializer: set static serializerClass = YourSerializer (or static resource = a Resource). ' +
        `(and 1 more: Stream "ghosts" (GhostConsumer): the table "ghosts" of the model Ghost does not exist in the database: run the app's migrations (or fix Ghost.tableName).)`,
    ]);
    assert.doesNotMatch(run.stderr, /listening/);
  });

  test('every problem is counted on the one line', async () => {
    const message = await start({ drafts: NoSerializerConsumer, notes: NoModelConsumer, ghosts: GhostConsumer });
    assert.match(
      message,
      /^Stream "drafts" \(NoSerializerConsumer\) has no serializer: .* \(and 2 more: Stream "notes" .* Stream "ghosts" /,
    );
  });
});

describe('@action compiled as a legacy decorator (experimentalDecorators)', () => {
  const source = (library: string) => `
    import { action, AsyncAPIConsumer, groupHandler } from '${library}';
    export class Calculator extends AsyncAPIConsumer {
      @action({ args: ['a', 'b'] })
      async add(args: Record<string, unknown>): Promise<[unknown, number]> {
        return [{ sum: Number(args.a) + Number(args.b) }, 200];
      }
    }
    export class Lobby extends AsyncAPIConsumer {
      @groupHandler()
      greet(): void {}
    }
  `;
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legacy-decorators-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Compiles the consumer with TypeScript as an app's tsconfig would, writes it into the temp dir, loads it. */
  async function compileAndLoad(name: string, experimentalDecorators: boolean, body = source(LIBRARY)) {
    const output = ts.transpileModule(body, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, experimentalDecorators },
      fileName: `${name}.ts`,
    });
    const file = path.join(dir, `${name}.mjs`);
    fs.writeFileSync(file, output.outputText);
    return { text: output.outputText, load: () => import(pathToFileURL(file).href) };
  }

  test('with standard decorators the action is served', async () => {
    const compiled = await compileAndLoad('standard', false);
    assert.doesNotMatch(compiled.text, /__decorate\(/);
    const { Calculator } = await compiled.load();
    const gateway = await startGateway({ streams: { calc: Calculator } });
    try {
      const socket = await TestSocket.open(`${gateway.wsUrl}/ws/calc/`);
      assert.deepEqual(await socket.request({ action: 'add', a: 1, b: 2, request_id: 1 }), reply('add', { sum: 3 }, 200, 1));
      socket.close();
    } finally {
      await gateway.close();
    }
  });

  test('compiled with experimentalDecorators, the module fails to load with the fix, never a silent 405', async () => {
    const compiled = await compileAndLoad('legacy', true);
    // The legacy emit: __decorate([...], Calculator.prototype, "add", null).
    assert.match(compiled.text, /__decorate\(/);
    await assert.rejects(compiled.load(), {
      name: 'TypeError',
      message:
        '@action() on Calculator.add was compiled as a legacy decorator (experimentalDecorators): set "experimentalDecorators": false ' +
        `in tsconfig.json (standard decorators, TypeScript 5+), or call registerAction(Class, 'add') instead of the decorator.`,
    });
    const handlerOnly = await compileAndLoad(
      'legacy-handler',
      true,
      `import { AsyncAPIConsumer, groupHandler } from '${LIBRARY}';
       export class Lobby extends AsyncAPIConsumer { @groupHandler() greet(): void {} }`,
    );
    await assert.rejects(handlerOnly.load(), {
      name: 'TypeError',
      message: /^@groupHandler\(\) on Lobby\.greet was compiled as a legacy decorator/,
    });
    // Served by the CLI: one sentence naming the module, the method and the fix.
    const run = serve(path.join(dir, 'legacy.mjs'));
    assert.equal(run.status, 2, run.stderr);
    assert.match(
      run.stderr,
      /^dcrf-gateway: the app module .*legacy\.mjs failed to load: @action\(\) on Calculator\.add was compiled as a legacy decorator \(experimentalDecorators\): set "experimentalDecorators": false/m,
    );
  });
});
