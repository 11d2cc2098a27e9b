/**
 * The open-file limit: 10,000 sockets need 10,000 descriptors in the server process. Node raises its
 * own soft limit to the hard limit at startup, so the hard limit is what counts. When it is too low,
 * the harness re-runs itself under `ulimit -n` if it may (as root), or stops and says what to do.
 */
import { spawnSync } from 'node:child_process';

/** The limit a child process gets (the soft limit, already raised to the hard one by Node). */
function currentLimit(): number {
  const out = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
}

/** Status of the re-run shell when `ulimit -n` itself was refused. */
const LIMIT_REFUSED = 97;

function giveUp(current: number, needed: number): never {
  process.stderr.write(
    `The open-file limit is ${current}; the idle and fan-out cases hold 10,000 sockets and need ${needed}.\n` +
      `Raise it (as root: \`ulimit -n ${needed}\` in the shell that runs the benchmark, or LimitNOFILE /\n` +
      '/etc/security/limits.conf) and run again, or run the other cases only: npm run bench -- retrieve crud-mix graphql\n',
  );
  process.exit(1);
}

export function ensureFileLimit(needed: number): void {
  const current = currentLimit();
  if (current >= needed) return;
  if (process.getuid?.() !== 0 || process.env.BENCH_RAISED_LIMIT) giveUp(current, needed);
  process.stderr.write(`Raising the open-file limit from ${current} to ${needed} for the 10,000-socket cases.\n`);
  const quoted = [process.execPath, ...process.execArgv, ...process.argv.slice(1)]
    .map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const result = spawnSync('sh', ['-c', `ulimit -n ${needed} 2>/dev/null || exit ${LIMIT_REFUSED}; exec ${quoted}`], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_RAISED_LIMIT: '1' },
  });
  if (result.status === LIMIT_REFUSED) giveUp(current, needed);
  process.exit(result.status ?? 1);
}
