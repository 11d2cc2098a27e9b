/**
 * Test helpers: start the real demo app on a free port with a database of its own, and talk to it
 * over real sockets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { loadConfig } from '../../src/config.js';
import { startDemo, type DemoApp, type DemoOptions } from '../../src/demo/app.js';
import { createToken } from '../../src/demo/auth.js';
import { createTestDatabase, uniqueRedisPrefix } from './postgres.js';

export interface TestApp extends DemoApp {
  wsUrl: string;
  /** A token for a user, created on first use. */
  token(username: string): Promise<string>;
}

/**
 * Starts the demo app. The database is TEST_DATABASE_URL when set (the PostgreSQL run), else a fresh
 * SQLite file; the PubSub is TEST_REDIS_URL when set, else in-process.
 */
export async function startTestApp(options: DemoOptions & { env?: Record<string, string> } = {}): Promise<TestApp> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcrf-gateway-test-'));
  // PostgreSQL: a fresh database per app (dropped on close); Redis: a channel prefix of its own.
  const database = process.env.TEST_DATABASE_URL ? await createTestDatabase(process.env.TEST_DATABASE_URL) : undefined;
  const databaseUrl = database?.url ?? `sqlite:${path.join(dir, 'test.sqlite3')}`;
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL, REDIS_PREFIX: uniqueRedisPrefix() } : {}),
    ...options.env,
  });
  let app: DemoApp;
  try {
    app = await startDemo(config, options);
  } catch (error) {
    await database?.drop();
    throw error;
  }
  const close = app.close.bind(app);
  return {
    ...app,
    wsUrl: `ws://127.0.0.1:${app.port}`,
    token: (username: string) => createToken(username),
    async close() {
      await close();
      await database?.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A ws client that adds a no-op error listener (a close while connecting must not throw). */
export class QuietWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.on('error', () => undefined);
  }
}

/** A raw JSON socket with an inbox: `send` frames, `next()` the next one parsed. */
export class TestSocket {
  readonly ws: WebSocket;
  private readonly inbox: unknown[] = [];
  private readonly waiters: Array<(frame: unknown) => void> = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;
  readonly opened: Promise<void>;

  constructor(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}) {
    this.ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve((this.closeCode = code))));
    this.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      const waiter = this.waiters.shift();
      if (waiter) waiter(frame);
      else this.inbox.push(frame);
    });
  }

  static async open(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<TestSocket> {
    const socket = new TestSocket(url, options);
    await socket.opened;
    return socket;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame, or a rejection after `timeoutMs`. */
  next<T = any>(timeoutMs = 3000): Promise<T> {
    if (this.inbox.length) return Promise.resolve(this.inbox.shift() as T);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (frame: unknown) => {
        clearTimeout(timer);
        resolve(frame as T);
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends a frame and returns the next one. */
  async request<T = any>(frame: unknown, timeoutMs?: number): Promise<T> {
    this.send(frame);
    return this.next<T>(timeoutMs);
  }

  /** Resolves true when no frame arrives within `ms`. */
  async quiet(ms = 200): Promise<boolean> {
    if (this.inbox.length) return false;
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  close(): void {
    this.ws.close();
  }
}

/** A DCRF reply envelope; `data` is `any` so tests can read the fields of the reply they just asserted. */
export interface ReplyEnvelope {
  errors: unknown[];
  data: any;
  action: unknown;
  response_status: number;
  request_id: unknown;
}

/** The DCRF envelope a reply should be. */
export function reply(action: unknown, data: unknown, status: number, requestId: unknown, errors: unknown[] = []): ReplyEnvelope {
  return { errors, data, action, response_status: status, request_id: requestId };
}
