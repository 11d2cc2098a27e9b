/**
 * Imports a package entry point in a fresh Node process and reports what the import did: every module
 * it loaded (recorded by a module resolve hook), the globals, process listeners and handles it left,
 * the metrics it put in prom-client's process-wide registry, what it printed and the files it wrote.
 * The child runs in an empty folder of its own and should exit by itself once the import is done: an
 * import that starts a timer or opens a socket keeps it alive (`exitedByItself` false).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** What importing an entry point did. */
export interface EntryReport {
  /** file: URLs of every module resolved while importing (the entry's own included). */
  loaded: string[];
  /** Names added to globalThis. */
  globals: string[];
  /** Process events that gained listeners. */
  processEvents: string[];
  /** Handles and requests alive after the import that were not before (timers, sockets, ...). */
  resources: string[];
  /** Names of the metrics in prom-client's default registry. */
  promMetrics: string[];
  /** What the child printed on stdout and stderr. */
  output: string;
  /** Files and folders the import created in the child's working folder. */
  written: string[];
  /** Whether the child exited by itself once the import was done (nothing kept its event loop alive). */
  exitedByItself: boolean;
}

/** The repository's root folder. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Records each resolved URL into the file named by ENTRY_PROBE_LOG (the hook runs off the main thread). */
const RECORDER = `
import fs from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  fs.appendFileSync(process.env.ENTRY_PROBE_LOG, result.url + '\\n');
  return result;
}
`;

/** The child: registers the recorder, imports the entry, prints its report as the last line. */
const CHILD = `
import { register, createRequire } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(process.env.ENTRY_PROBE_RECORDER));
const globalsBefore = new Set(Reflect.ownKeys(globalThis).map(String));
const listeners = () => new Map(process.eventNames().map((name) => [String(name), process.listenerCount(name)]));
const listenersBefore = listeners();
const resourcesBefore = process.getActiveResourcesInfo();
await import(process.env.ENTRY_PROBE_URL);
const resources = process.getActiveResourcesInfo();
for (const name of resourcesBefore) resources.splice(resources.indexOf(name), 1);
const promClient = createRequire(process.env.ENTRY_PROBE_ROOT + 'package.json')('prom-client');
const report = {
  globals: Reflect.ownKeys(globalThis).map(String).filter((name) => !globalsBefore.has(name)),
  processEvents: [...listeners()].filter(([name, count]) => count > (listenersBefore.get(name) ?? 0)).map(([name]) => name),
  resources,
  promMetrics: promClient.register.getMetricsAsArray().map((metric) => metric.name),
};
process.stdout.write('\\nENTRY_PROBE ' + JSON.stringify(report) + '\\n');
`;

/** The line the child prints its report on. */
const MARKER = '\nENTRY_PROBE ';

/**
 * Imports `entry` (a path) in a fresh process; `typescript` loads tsx first (for src/*.ts). Rejects
 * when the import fails or takes longer than `timeoutMs`; a child still alive `exitMs` after the
 * import is killed.
 */
export async function probeEntry(
  entry: string,
  options: { typescript?: boolean; timeoutMs?: number; exitMs?: number } = {},
): Promise<EntryReport> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'entry-probe-'));
  const log = path.join(folder, '..', `${path.basename(folder)}.log`);
  try {
    const loaders = options.typescript ? ['--import', import.meta.resolve('tsx')] : [];
    const child = spawn(process.execPath, [...loaders, '--input-type=module', '--eval', CHILD], {
      cwd: folder,
      env: {
        ...process.env,
        ENTRY_PROBE_URL: pathToFileURL(entry).href,
        ENTRY_PROBE_ROOT: REPO_ROOT,
        ENTRY_PROBE_RECORDER: RECORDER,
        ENTRY_PROBE_LOG: log,
        LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    let exitedByItself = true;
    const code = await new Promise<number | string>((resolve) => {
      let timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('a timeout');
      }, options.timeoutMs ?? 30_000);
      const read = (chunk: Buffer): void => {
        const done = text.includes(MARKER);
        text += chunk.toString();
        if (done || !text.includes(MARKER)) return;
        // The import is done: from now on the child should have nothing left to do.
        clearTimeout(timer);
        timer = setTimeout(() => {
          exitedByItself = false;
          child.kill('SIGKILL');
        }, options.exitMs ?? 5000);
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.once('exit', (exitCode, signal) => {
        clearTimeout(timer);
        resolve(exitCode ?? signal ?? 'unknown');
      });
    });
    const marker = text.lastIndexOf(MARKER);
    if ((code !== 0 && exitedByItself) || marker < 0) throw new Error(`importing ${entry} in a fresh process ended with ${code}:\n${text}`);
    const reportLine = text.slice(marker + MARKER.length).split('\n')[0]!;
    const report = JSON.parse(reportLine) as Pick<EntryReport, 'globals' | 'processEvents' | 'resources' | 'promMetrics'>;
    const loaded = fs.existsSync(log) ? [...new Set(fs.readFileSync(log, 'utf8').split('\n').filter(Boolean))] : [];
    const output = (text.slice(0, marker) + text.slice(marker + MARKER.length + reportLine.length)).trim();
    return { ...report, loaded, output, written: fs.readdirSync(folder), exitedByItself };
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
    fs.rmSync(log, { force: true });
  }
}

/** The loaded modules of the repository's own code (not node_modules), relative to `base` (a folder of the repo or package). */
export function ownModules(report: EntryReport, base: string): string[] {
  const prefix = pathToFileURL(base).href.replace(/\/?$/, '/');
  return report.loaded
    .filter((url) => url.startsWith(prefix) && !url.includes('/node_modules/', prefix.length - 1))
    .map((url) => url.slice(prefix.length));
}
