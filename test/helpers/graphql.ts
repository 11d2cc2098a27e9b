/**
 * Test helpers for GraphQL: the real graphql-ws client over `ws`, HTTP POST, and a recorder of one
 * subscription's results.
 */
import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import type { TestApp } from './app.js';

/** A graphql-ws client for the app (no retries: a test sees the first failure). */
export function graphqlClient(
  app: Pick<TestApp, 'wsUrl'>,
  options: { connectionParams?: Record<string, unknown>; token?: string; onClose?: (code: number, reason: string) => void } = {},
): Client {
  const query = options.token ? `?token=${encodeURIComponent(options.token)}` : '';
  return createClient({
    url: `${app.wsUrl}/graphql${query}`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: options.connectionParams,
    on: options.onClose
      ? { closed: (event) => options.onClose!((event as { code: number }).code, String((event as { reason?: unknown }).reason ?? '')) }
      : undefined,
  });
}

/** Runs a query or mutation over the socket; resolves with its one result. */
export function execute<T = any>(client: Client, query: string, variables?: Record<string, unknown>): Promise<ExecutionResult<T>> {
  return new Promise((resolve, reject) => {
    let result: ExecutionResult<T> | undefined;
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => (result = value as ExecutionResult<T>),
        error: reject,
        complete: () => (result ? resolve(result) : reject(new Error('completed without a result'))),
      },
    );
  });
}

/** POSTs a GraphQL request; resolves with the status and the parsed body. */
export async function post(
  app: TestApp,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: await response.json() };
}

/** One subscription's results, in order, with `next()` to wait for the next one. */
export class Recorded<T = any> {
  readonly results: ExecutionResult<T>[] = [];
  error: unknown;
  completed = false;
  private read = 0;
  private waiters: Array<() => void> = [];
  readonly dispose: () => void;

  constructor(client: Client, query: string, variables?: Record<string, unknown>) {
    this.dispose = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          this.results.push(value as ExecutionResult<T>);
          this.wake();
        },
        error: (error) => {
          this.error = error;
          this.wake();
        },
        complete: () => {
          this.completed = true;
          this.wake();
        },
      },
    );
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** The next unread result; rejects if the operation ends first or nothing comes within `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<ExecutionResult<T>> {
    const deadline = Date.now() + timeoutMs;
    while (this.read >= this.results.length) {
      if (this.error !== undefined) throw new Error(`subscription failed: ${JSON.stringify(this.error)}`);
      if (this.completed) throw new Error('subscription completed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no result within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.results[this.read++]!;
  }

  /** Resolves once the operation ended (error or complete). */
  async ended(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.error === undefined && !this.completed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`did not end within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Results not read yet. */
  get unread(): number {
    return this.results.length - this.read;
  }
}

/**
 * Subscribes and waits until the subscription is live: the server handles a socket's messages in
 * order once the subscriptions before them are live, so a query answered after it proves it.
 */
export async function subscribeLive<T = any>(client: Client, query: string, variables?: Record<string, unknown>): Promise<Recorded<T>> {
  const recorded = new Recorded<T>(client, query, variables);
  await execute(client, '{ __typename }');
  return recorded;
}
