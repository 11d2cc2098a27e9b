/**
 * The open-file limit: 10,000 sockets need 10,000 descriptors in the server process. Node cannot
 * raise its own limit, so when the soft limit is too low the harness re-runs itself under
 * `ulimit -n` (allowed up to the hard limit), or stops with a message saying what to do.
 */
import { spawnSync } from 'node:child_process';

function limit(flag: '-Sn' | '-Hn'): number {
  const out = spawnSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
}

export function ensureFileLimit(needed: number): void {
  const soft = limit('-Sn');
  if (soft >= needed) return;
  if (process.env.BENCH_RAISED_LIMIT) {
    throw new Error(`open-file limit is ${soft} after raising it; the 10,000-socket cases need ${needed}`);
  }
  const hard = limit('-Hn');
  if (hard < needed) {
    process.stderr.write(
      `The open-file limit is ${soft} (hard limit ${hard}); the fan-out and idle cases hold 10,000 sockets and need ${needed}.\n` +
        `Raise it (as root: \`ulimit -Hn ${needed}\`, or LimitNOFILE / /etc/security/limits.conf) and run again,\n` +
        'or run only the other cases: npm run bench -- retrieve crud-mix graphql\n',
    );
    process.exit(1);
  }
  process.stderr.write(`Raising the open-file limit from ${soft} to ${needed} for the 10,000-socket cases.\n`);
  const quoted = [process.execPath, ...process.execArgv, ...process.argv.slice(1)].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  const result = spawnSync('sh', ['-c', `ulimit -n ${needed} && exec ${quoted}`], { stdio: 'inherit', env: { ...process.env, BENCH_RAISED_LIMIT: '1' } });
  process.exit(result.status ?? 1);
}
