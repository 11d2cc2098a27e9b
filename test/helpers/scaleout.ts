/**
 * Scale-out test helpers: which PostgreSQL and Redis to use, gateway processes started through the
 * real CLI (`src/cli.ts serve --port 0`), and a look at the Redis server those processes share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Services {
  databaseUrl: string;
  redisUrl: string;
}

/**
 * The services the scale-out tests run against: TEST_DATABASE_URL and TEST_REDIS_URL (set by the
 * second pass of `npm test`). Without them a run outside CI skips, saying why; under CI=true the
 * machine's defaults are used, so an unreachable service fails the test instead of hiding it.
 */
export function scaleoutServices(): Services | { skip: string } {
  const databaseUrl = process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (databaseUrl && redisUrl) return { databaseUrl, redisUrl };
  if (process.env.CI === 'true') {
    return { databaseUrl: databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test', redisUrl: redisUrl ?? 'redis://127.0.0.1:6379' };
  }
  return { skip: 'needs PostgreSQL and Redis: runs in the second pass of `npm test` (or set TEST_DATABASE_URL and TEST_REDIS_URL)' };
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** One gateway process started with `src/cli.ts serve`, its JSON log lines collected. */
export class GatewayProcess {
  readonly logs: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private readonly watchers = new Set<() => void>();
  url = '';
  wsUrl = '';

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let buffer = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ msg: line, level: 'raw' });
        }
        for (const watcher of this.watchers) watcher();
      }
    });
  }

  /** Starts `serve` on a free port (with more flags: `args`) and resolves once it logged the URL it listens on. */
  static async start(env: Record<string, string>, args: readonly string[] = []): Promise<GatewayProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--port', '0', '--host', '127.0.0.1', ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const gateway = new GatewayProcess(child);
    const listening = await Promise.race([
      gateway.waitForLog((line) => line.msg === 'dcrf-gateway listening', 90_000),
      gateway.exited.then((code) => {
        throw new Error(`gateway exited (${code}) before listening:\n${gateway.logs.map((line) => JSON.stringify(line)).join('\n')}`);
      }),
    ]);
    gateway.url = String(listening.http);
    gateway.wsUrl = gateway.url.replace(/^http/, 'ws');
    return gateway;
  }

  /** The first log line (already written or still to come) that `matches`. */
  waitForLog(matches: (line: LogLine) => boolean, timeoutMs = 10_000, from = 0): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.logs.slice(from).find(matches);
        if (!found) return false;
        this.watchers.delete(check);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.watchers.delete(check);
        reject(
          new Error(
            `no matching log line within ${timeoutMs} ms; got:\n${this.logs
              .slice(from)
              .map((line) => JSON.stringify(line))
              .join('\n')}`,
          ),
        );
      }, timeoutMs);
      if (!check()) this.watchers.add(check);
    });
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.alive) this.child.kill(signal);
    return this.exited;
  }
}

/** GET /healthz's status code. */
export async function healthStatus(url: string): Promise<number> {
  const response = await fetch(`${url}/healthz`);
  await response.arrayBuffer();
  return response.status;
}

/** Polls /healthz until it answers `status` (each poll 50 ms apart); rejects after `timeoutMs`. */
export async function waitForHealth(url: string, status: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = await healthStatus(url).catch(() => 0);
    if (last === status) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url}/healthz stayed ${last}, expected ${status}`);
}

/** A plain connection to the Redis the gateways share, to look at it and to cut their connections. */
export class RedisAdmin {
  private constructor(private readonly redis: Redis) {}

  static async connect(url: string): Promise<RedisAdmin> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    return new RedisAdmin(redis);
  }

  /** How many connections are subscribed to `channel` (one per gateway process that listens). */
  async subscribers(channel: string): Promise<number> {
    const [, count] = (await this.redis.pubsub('NUMSUB', channel)) as [string, number];
    return Number(count);
  }

  /**
   * Kills the connections of `type` whose name starts with `prefix` (CLIENT KILL ID each): the
   * effect of `CLIENT KILL TYPE <type>`, limited to this test's gateways so that other tests sharing
   * the Redis server are left alone. Resolves with how many were killed.
   */
  async killClients(type: 'pubsub' | 'normal', prefix: string): Promise<number> {
    const list = (await this.redis.call('CLIENT', 'LIST', 'TYPE', type)) as string;
    const ids = list
      .split('\n')
      .map((line) =>
        Object.fromEntries(
          line
            .trim()
            .split(' ')
            .map((pair) => pair.split('=', 2) as [string, string]),
        ),
      )
      .filter((client) => client.name?.startsWith(prefix))
      .map((client) => client.id!);
    for (const id of ids) await this.redis.call('CLIENT', 'KILL', 'ID', id);
    return ids.length;
  }

  close(): void {
    this.redis.disconnect();
  }
}
