/**
 * What every benchmark server reports about itself: CPU time spent between `mark` and `usage`
 * (process.cpuUsage, user + system), and its memory (RSS, heap), optionally after a full GC.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';
import type { Handler } from '../lib/child.js';

/** With BENCH_PROFILE_DIR set, `mark` starts the CPU profiler and `usage` writes the profile there. */
const profileDir = process.env.BENCH_PROFILE_DIR;
let session: inspector.Session | undefined;
let profiles = 0;

function post(method: string, params?: object): Promise<any> {
  return new Promise((resolve, reject) => session!.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

async function startProfile(): Promise<void> {
  if (!profileDir) return;
  if (!session) {
    session = new inspector.Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
  }
  await post('Profiler.start');
}

async function stopProfile(): Promise<void> {
  if (!profileDir || !session) return;
  const { profile } = await post('Profiler.stop');
  fs.mkdirSync(profileDir, { recursive: true });
  const file = path.join(profileDir, `${process.env.BENCH_PROFILE_NAME ?? 'server'}-${process.pid}-${++profiles}.cpuprofile`);
  fs.writeFileSync(file, JSON.stringify(profile));
}

let markCpu = process.cpuUsage();
let markTime = process.hrtime.bigint();

export interface ServerUsage {
  /** CPU microseconds (user + system) since the last mark. */
  cpuUs: number;
  /** The part of `cpuUs` spent in the kernel (mostly the sockets' writes). */
  systemUs: number;
  /** Wall-clock microseconds since the last mark. */
  wallUs: number;
  rssBytes: number;
  heapUsedBytes: number;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

/** The commands every server answers: `mark`, `usage`, `memory` (`{ gc: true }` collects first). */
export const usageCommands: Record<string, Handler> = {
  async mark() {
    await startProfile();
    markCpu = process.cpuUsage();
    markTime = process.hrtime.bigint();
    return true;
  },
  async usage(): Promise<ServerUsage> {
    const cpu = process.cpuUsage(markCpu);
    await stopProfile();
    const memory = process.memoryUsage();
    return {
      cpuUs: cpu.user + cpu.system,
      systemUs: cpu.system,
      wallUs: Number((process.hrtime.bigint() - markTime) / 1000n),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
    };
  },
  async memory(params: { gc?: boolean }) {
    if (params.gc) {
      collect();
      // Let freed pages go back and finalizers run before reading RSS.
      await new Promise((resolve) => setTimeout(resolve, 200));
      collect();
    }
    const memory = process.memoryUsage();
    return { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed };
  },
};
