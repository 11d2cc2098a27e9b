/**
 * Importing the library does nothing but define it: no demo module loaded, no global, process
 * listener, timer or socket, no metric in prom-client's process-wide registry, nothing printed or
 * written. Each entry point is imported from source in a fresh process (the built package is checked
 * the same way by test/e2e/package-smoke.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ownModules, probeEntry, REPO_ROOT } from '../helpers/entry-probe.js';

/** The package's entry points, as source files (`./testing` once it exists). */
const ENTRIES = ['src/index.ts', 'src/testing.ts'].filter((entry) => fs.existsSync(path.join(REPO_ROOT, entry)));

for (const entry of ENTRIES) {
  test(`importing ${entry} loads no demo module and leaves nothing behind`, async () => {
    const report = await probeEntry(path.join(REPO_ROOT, entry), { typescript: true });
    const own = ownModules(report, REPO_ROOT);
    assert.ok(own.includes(entry), `the probe saw the entry itself load (saw ${own.length} modules)`);
    // Both entries run DCRF sessions (the gateway's, the communicator's): a module each imports.
    assert.ok(own.includes('src/dcrf/session.ts'), 'the probe records modules imported by the entry');
    assert.deepEqual(
      own.filter((file) => file.startsWith('src/demo/') || file === 'src/cli.ts'),
      [],
      'the demo (and the CLI that serves it) is not part of the library',
    );
    assert.deepEqual(report.globals, [], 'no global is defined');
    assert.deepEqual(report.processEvents, [], 'no process listener is added');
    assert.deepEqual(report.resources, [], 'no timer, socket or other handle is left open');
    assert.ok(report.exitedByItself, 'the process ends by itself after the import');
    assert.deepEqual(report.promMetrics, [], "nothing is registered in prom-client's default registry");
    assert.equal(report.output, '', 'nothing is printed, even at LOG_LEVEL=debug');
    assert.deepEqual(report.written, [], 'no file is written');
  });
}

test('the probe sees what an entry with side effects does', async () => {
  // The demo's app module registers its streams' observers and loads the demo: the probe must notice.
  const report = await probeEntry(path.join(REPO_ROOT, 'src/demo/app.ts'), { typescript: true });
  const own = ownModules(report, REPO_ROOT);
  assert.ok(own.includes('src/demo/consumers.ts'), 'demo modules are recorded');
});
