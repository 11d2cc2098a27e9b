/**
 * The documentation's TypeScript compiles as written: the ```ts blocks of each page below, in order,
 * form one module (the pages build an app step by step), type-checked with the tsconfig that
 * docs/getting-started.md recommends, `dcrf-gateway` resolved to this repository's source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { typescriptBlocks } from '../helpers/markdown.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PAGES = ['README.md', 'docs/getting-started.md'];
/** Inside the repository (git-ignored), so the snippets resolve knex and objection from its node_modules. */
const OUT = path.join(ROOT, 'test/artifacts/docs-snippets');

test('the TypeScript blocks of the README and the getting-started page type-check as written', () => {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const files: string[] = [];
  for (const page of PAGES) {
    const blocks = typescriptBlocks(fs.readFileSync(path.join(ROOT, page), 'utf8'));
    assert.ok(blocks.length > 0, `${page} has TypeScript blocks`);
    const file = `${page.replace(/[/.]/g, '_')}.mts`;
    fs.writeFileSync(path.join(OUT, file), `${blocks.join('\n')}\nexport {};\n`);
    files.push(file);
  }
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      paths: {
        'dcrf-gateway': [path.join(ROOT, 'src/index.ts')],
        'dcrf-gateway/testing': [path.join(ROOT, 'src/testing.ts')],
      },
    },
    files,
  };
  fs.writeFileSync(path.join(OUT, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(OUT, 'tsconfig.json')], {
    encoding: 'utf8',
  });
  assert.equal(tsc.status, 0, `tsc found errors in the docs' code:\n${tsc.stdout}${tsc.stderr}`);
});
