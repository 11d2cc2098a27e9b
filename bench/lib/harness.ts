/**
 * What every case shares: settings, progress lines, starting the targets (each server in a process
 * of its own) and the client processes, and turning raw client reports into a TargetRun.
 */
import { Child } from './child.js';
import { Histogram } from './histogram.js';
import type { TargetRun } from './results.js';

export interface Settings {
  smoke: boolean;
  runs: number;
  warmupMs: number;
  measureMs: number;
  /** The case being run (names profiles). */
  caseName?: string;
  /** Every case this invocation runs (cases that share measurements run only the parts asked for). */
  cases?: string[];
  /** Where the system's server writes a CPU profile of each measured window (`--cpu-prof`); none when undefined. */
  profileDir?: string;
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The servers a case can start. */
export const TARGETS = {
  system: 'dcrf-gateway',
  echo: 'raw ws echo',
  sqlite: 'raw ws + better-sqlite3',
  broadcast: 'raw ws',
  /** The raw broadcast sending each subscriber a frame of its own (its id in it) with a write callback, as a server that bounds each subscriber's unsent output does. */
  broadcastOwnFrames: 'raw ws, own frames',
  stockGraphql: 'stock graphql-ws',
  /** The demo app with one in-process subscriber of the Thing model (its writes are captured and logged). */
  systemObserved: 'dcrf-gateway, model observed',
  /** The demo app on PostgreSQL (a database of its own on BENCH_DATABASE_URL's server). */
  pgSystem: 'dcrf-gateway on PostgreSQL',
  /** A hand-written `ws` + `pg` server running the same statements as the gateway. */
  pgRaw: 'raw ws + pg',
  /** Two demo app processes on one PostgreSQL database, events through Redis. */
  pgRedisSystem: 'dcrf-gateway ×2, PostgreSQL + Redis',
  /** Two hand-written `ws` + `pg` processes relaying each write's event through Redis. */
  pgRedisRaw: 'raw ws + pg ×2 + Redis',
} as const;

/** The PostgreSQL server the PostgreSQL cases make their databases on (BENCH_DATABASE_URL, default the machine's `test`). */
export const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The Redis the scale-out rows publish through (BENCH_REDIS_URL, default local). */
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** How a server of a target is started, besides its name. */
export interface ServerOptions {
  /** Extra node flags (`--expose-gc`). */
  nodeArgs?: string[];
  /** Extra environment (THINGS, BENCH_DATABASE_URL, REDIS_URL, ...). */
  env?: Record<string, string>;
}

export interface RunningServer {
  child: Child;
  port: number;
  /** Whether the demo app has its GraphQL endpoint wired in. */
  graphql?: boolean;
  stop(): Promise<void>;
}

/** Starts the server of a target in its own process and waits until it listens. */
export async function startServer(target: string, settings: Settings, options: ServerOptions = {}): Promise<RunningServer> {
  let child: Child;
  // BENCH_PERF=1: every server writes /tmp/perf-<pid>.map for `perf record -p <pid>` (jit: a jitdump
  // in the working directory, for `perf inject --jit` and `perf annotate`).
  const perf = process.env.BENCH_PERF ? [process.env.BENCH_PERF === 'jit' ? '--perf-prof' : '--perf-basic-prof'] : [];
  // BENCH_NODE_ARGS: more flags for every server (`--trace-gc`, say), space-separated.
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const nodeArgs = [...(options.nodeArgs ?? []), ...perf, ...extra];
  // Every server, the gateway and its baselines alike, runs as compiled JavaScript (see compiled.ts).
  const compiled = true;
  // Baselines are profiled too: a profile of the system means most beside the raw server's of the same window.
  const profile: Record<string, string> = settings.profileDir
    ? { BENCH_PROFILE_DIR: settings.profileDir, BENCH_PROFILE_NAME: `${settings.caseName ?? 'case'}-${target.replace(/\W+/g, '-')}` }
    : {};
  const system = (env: Record<string, string>) =>
    Child.start(target, 'servers/dcrf.ts', [], { compiled, nodeArgs, env: { ...profile, ...env, ...options.env } });
  const raw = (mode: string) => Child.start(target, 'servers/raw.ts', [mode], { compiled, nodeArgs, env: { ...profile, ...options.env } });
  if (target === TARGETS.system) child = system({});
  else if (target === TARGETS.systemObserved) child = system({ BENCH_OBSERVE: 'Thing' });
  else if (target === TARGETS.pgSystem || target === TARGETS.pgRedisSystem) child = system({ BENCH_POSTGRES: BENCH_DATABASE_URL });
  else if (target === TARGETS.echo) child = raw('echo');
  else if (target === TARGETS.sqlite) child = raw('sqlite');
  else if (target === TARGETS.broadcast) child = raw('broadcast');
  else if (target === TARGETS.broadcastOwnFrames) child = raw('broadcast-own-frames');
  else if (target === TARGETS.pgRaw || target === TARGETS.pgRedisRaw) child = raw('pg');
  else if (target === TARGETS.stockGraphql) child = Child.start(target, 'servers/graphql-stock.ts', [], { compiled, nodeArgs });
  else throw new Error(`unknown target ${target}`);
  const ready = (await child.ready) as { port: number; graphql?: boolean };
  return { child, port: ready.port, graphql: ready.graphql, stop: () => child.stop() };
}

/** The hand-written servers (they answer on any path). */
const RAW_TARGETS = new Set<string>([
  TARGETS.echo,
  TARGETS.sqlite,
  TARGETS.broadcast,
  TARGETS.broadcastOwnFrames,
  TARGETS.pgRaw,
  TARGETS.pgRedisRaw,
]);

/** Whether a target is one of the hand-written baselines. */
export function isRawTarget(target: string): boolean {
  return RAW_TARGETS.has(target);
}

/** The WebSocket URL a workload uses on a target. */
export function urlFor(target: string, port: number, path: 'things' | 'graphql'): string {
  if (RAW_TARGETS.has(target)) return `ws://127.0.0.1:${port}/`;
  if (path === 'graphql') return `ws://127.0.0.1:${port}/graphql`;
  return `ws://127.0.0.1:${port}/ws/things`;
}

/** A loopback source address per client process (127.0.0.2, .3, ...). */
export function sourceAddress(index: number): string {
  return `127.0.0.${2 + (index % 250)}`;
}

/** Starts `count` client processes running `script`. */
export async function startClients(script: string, count: number): Promise<Child[]> {
  const clients = Array.from({ length: count }, (_, i) => Child.start(`client ${i + 1}`, script));
  await Promise.all(clients.map((client) => client.ready));
  return clients;
}

export async function stopAll(children: readonly (Child | RunningServer | undefined)[]): Promise<void> {
  await Promise.all(children.map((child) => child?.stop().catch(() => undefined)));
}

/** Splits `total` into `parts` near-equal whole numbers. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

export interface ServerUsage {
  cpuUs: number;
  wallUs: number;
  rssBytes: number;
}

/** A TargetRun from merged client histograms, the count, the window and the server's usage. */
export function targetRun(histograms: Histogram[], ops: number, windowUs: number, usage: ServerUsage, errors = 0): TargetRun {
  const merged = new Histogram();
  for (const histogram of histograms) merged.merge(histogram);
  return {
    throughput: windowUs > 0 ? (ops * 1e6) / windowUs : Number.NaN,
    p50Ms: merged.percentile(50) / 1000,
    p90Ms: merged.percentile(90) / 1000,
    p99Ms: merged.percentile(99) / 1000,
    cpuUsPerOp: ops > 0 ? usage.cpuUs / ops : Number.NaN,
    rssMB: usage.rssBytes / (1024 * 1024),
    errors,
  };
}
