/**
 * Helpers for the hardening tests: a bare Gateway with test consumers and small limits, upgrade
 * outcomes, log capture, and metric reads.
 */
import { upgradeStatus as upgradeOutcome } from './dcrf.js';
import { Gateway, type GatewayOptions } from '../../src/server/gateway.js';
import { logger } from '../../src/logger.js';
import { Runtime } from '../../src/runtime.js';

export interface TestGateway {
  gateway: Gateway;
  url: string;
  wsUrl: string;
  close(): Promise<void>;
}

/**
 * Starts a Gateway on a free port. Without `runtime`, it gets one of its own with no database (test
 * consumers that touch no model), closed with it.
 */
export async function startGateway(options: Omit<GatewayOptions, 'runtime'> & { runtime?: Runtime }): Promise<TestGateway> {
  const own = options.runtime ? undefined : await Runtime.create();
  const gateway = new Gateway({ ...options, runtime: options.runtime ?? own! });
  const port = await gateway.listen(0);
  const close = async () => {
    await gateway.close();
    await own?.close();
  };
  return { gateway, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}`, close };
}

/** What an upgrade attempt ended with: 101 when the socket opened (then closed), else the refusal's HTTP status. */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return upgradeOutcome(url, { headers });
}

/** The value of one sample of `/metrics` (0 when absent), e.g. `metric(text, 'x_total', {limit: 'rate'})`. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([^{\s]+)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[pair[1]!] = pair[2]!;
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return 0;
}

/** Fetches `/metrics` text. */
export async function scrape(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`);
  return response.text();
}

/** Polls `check` until it is true (or throws after `timeoutMs`): for server-side effects a client cannot await. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** Captures the process's log lines (JSON objects) while `LOG_LEVEL` is raised to `error` or lower. */
export function captureLogs(level = 'error'): { lines: Array<Record<string, unknown>>; raw: string[]; stop(): void } {
  const raw: string[] = [];
  const previousLevel = process.env.LOG_LEVEL;
  process.env.LOG_LEVEL = level;
  logger.reconfigure();
  const original = process.stderr.write;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
    if (text.startsWith('{"time"')) {
      raw.push(...text.split('\n').filter(Boolean));
      return true;
    }
    return (original as (...args: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
  }) as typeof process.stderr.write;
  const lines: Array<Record<string, unknown>> = [];
  return {
    raw,
    get lines() {
      lines.length = 0;
      for (const line of raw) lines.push(JSON.parse(line));
      return lines;
    },
    stop() {
      process.stderr.write = original;
      if (previousLevel === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = previousLevel;
      logger.reconfigure();
    },
  };
}
