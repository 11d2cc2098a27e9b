/**
 * Child processes of the benchmark, and the small request/reply protocol the harness speaks with
 * them over IPC. Clients run TypeScript through tsx, servers their compiled JavaScript (compiled.ts);
 * every wait is bounded in time.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { compiledScript } from './compiled.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What a child answers to a command. */
interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** A message a child sends on its own (progress, per-write delivery notices). */
export interface Notice {
  type: string;
  [key: string]: unknown;
}

export interface ChildOptions {
  /** Extra node flags (`--expose-gc`, `--cpu-prof`). */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** How long the child may take to say it is ready. */
  readyTimeoutMs?: number;
  /** Run the script's compiled JavaScript with plain node (see compiled.ts) instead of the source through tsx. */
  compiled?: boolean;
}

/** A forked benchmark process: `call` sends a command and awaits its answer. */
export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private readonly listeners = new Set<(notice: Notice) => void>();
  private exited = false;
  readonly ready: Promise<any>;

  private constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
    readyTimeoutMs: number,
  ) {
    let readyResolve!: (value: unknown) => void;
    let readyReject!: (error: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    const readyTimer = setTimeout(() => readyReject(new Error(`${name}: not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs);
    proc.on('message', (message: any) => {
      if (message && typeof message.id === 'number') {
        const reply = message as Reply;
        const waiter = this.pending.get(reply.id);
        if (!waiter) return;
        this.pending.delete(reply.id);
        clearTimeout(waiter.timer);
        if (reply.ok) waiter.resolve(reply.result);
        else waiter.reject(new Error(`${name}: ${reply.error}`));
        return;
      }
      if (message?.type === 'ready') {
        clearTimeout(readyTimer);
        readyResolve(message);
        return;
      }
      for (const listener of this.listeners) listener(message as Notice);
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      clearTimeout(readyTimer);
      const error = new Error(`${name}: exited (code ${code}, signal ${signal})`);
      readyReject(error);
      for (const waiter of this.pending.values()) {
        clearTimeout(waiter.timer);
        waiter.reject(error);
      }
      this.pending.clear();
    });
  }

  /**
   * Forks `bench/<script>` with tsx, or its compiled JavaScript with plain node (`compiled`). The
   * child's stderr is passed through (its errors must be seen).
   */
  static start(name: string, script: string, args: string[] = [], options: ChildOptions = {}): Child {
    const file = options.compiled ? compiledScript(script) : path.join(BENCH_DIR, script);
    const proc = fork(file, args, {
      execArgv: [...(options.compiled ? [] : ['--import', 'tsx']), ...(options.nodeArgs ?? [])],
      env: { ...process.env, LOG_LEVEL: 'silent', ...options.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Child(name, proc, options.readyTimeoutMs ?? 30_000);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Sends a command; rejects if no answer comes within `timeoutMs`. */
  call<T = any>(cmd: string, params: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name}: already exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: "${cmd}" got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.proc.send({ id, cmd, ...params });
    });
  }

  /** Listens to the child's own notices; returns the function that stops listening. */
  onNotice(listener: (notice: Notice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Asks the child to exit, and kills it if it has not within `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    try {
      this.proc.send({ id: 0, cmd: 'exit' });
    } catch {
      // The channel is already gone; the kill below ends it.
    }
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

export type Handler = (params: any) => unknown | Promise<unknown>;

/**
 * The child's side: answers commands with the handlers given, says `ready` with `info`, and exits on
 * `exit` or when the harness goes away (the IPC channel closes), so no child outlives a run.
 */
export function serveCommands(handlers: Record<string, Handler>, info: Record<string, unknown> = {}): void {
  if (!process.send) throw new Error('run this file through the benchmark harness (npm run bench)');
  process.on('message', async (message: any) => {
    if (!message || typeof message.cmd !== 'string') return;
    if (message.cmd === 'exit') {
      await handlers.exit?.(message);
      process.exit(0);
    }
    const handler = handlers[message.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${message.cmd}`);
      const result = await handler(message);
      process.send!({ id: message.id, ok: true, result });
    } catch (error) {
      process.send!({ id: message.id, ok: false, error: String((error as Error)?.stack ?? error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', ...info });
}

/** Sends a notice to the harness. */
export function notify(notice: Notice): void {
  process.send?.(notice);
}
