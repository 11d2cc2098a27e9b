/**
 * The legacy `graphql-ws` protocol (Apollo's subscriptions-transport-ws), as a small adapter over the
 * same engine as the current protocol: connection_init → connection_ack (or connection_error and a
 * close 4403 for an unknown token), then `ka` keep-alives (only after the ack), start/stop,
 * data/error/complete, connection_terminate. Every operation is released when the socket closes
 * (the original server leaked them). Messages are handled in order: an operation starts only once
 * the init before it was answered and the subscriptions before it are live.
 */
import type { IncomingMessage } from 'node:http';
import { GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import { logger } from '../logger.js';
import type { ConnectionScope } from '../scope.js';
import { resolveToken, tokenFromPayload, type Authenticator, type AuthResult } from '../server/auth.js';
import { isAsyncIterable, type GraphQLContext, type GraphQLEngine } from './engine.js';
import { socketTarget } from './event-delivery.js';
import { formatError, formatResult } from './errors.js';
import { heartbeat } from './heartbeat.js';
import { InFlight, onDrain } from '../in-flight.js';
import { closeIfInactive } from './transport-ws.js';
import type { AuthUser } from '../scope.js';

export const LEGACY = {
  CONNECTION_INIT: 'connection_init',
  CONNECTION_ACK: 'connection_ack',
  CONNECTION_ERROR: 'connection_error',
  KEEP_ALIVE: 'ka',
  CONNECTION_TERMINATE: 'connection_terminate',
  START: 'start',
  DATA: 'data',
  ERROR: 'error',
  COMPLETE: 'complete',
  STOP: 'stop',
} as const;

export interface LegacyWsOptions {
  engine: GraphQLEngine;
  authenticator?: Authenticator;
  /** Interval of `ka` messages after the ack. Default 12000 ms (the legacy client gives up after 30 s without one). */
  keepAliveMs?: number;
  /** Time a client has to send connection_init before the socket is closed 4408. Default 3000 ms. */
  connectionInitWaitTimeout?: number;
  /** Whether a socket's user may still act (deleted or deactivated users: close 4403). */
  isActive?: (user: AuthUser) => boolean | Promise<boolean>;
}

interface Operation {
  iterator?: AsyncGenerator<ExecutionResult>;
  stopped: boolean;
}

interface LegacyMessage {
  id?: unknown;
  type?: unknown;
  payload?: unknown;
}

export class LegacyWsServer {
  constructor(private readonly options: LegacyWsOptions) {}

  handle(ws: WebSocket, scope: ConnectionScope, auth: AuthResult, _request: IncomingMessage): void {
    new LegacyConnection(ws, this.options, this.options.engine.context(scope), auth);
  }
}

class LegacyConnection {
  private initialised = false;
  private acknowledged = false;
  private readonly operations = new Map<string, Operation>();
  private queue: Promise<void> = Promise.resolve();
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly initTimer: NodeJS.Timeout | undefined;
  private readonly stopHeartbeat: () => void;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: LegacyWsOptions,
    private readonly context: GraphQLContext,
    private readonly auth: AuthResult,
  ) {
    const wait = options.connectionInitWaitTimeout ?? 3000;
    if (wait > 0 && Number.isFinite(wait)) {
      this.initTimer = setTimeout(() => {
        if (!this.initialised) ws.close(4408, 'Connection initialisation timeout');
      }, wait);
    }
    this.stopHeartbeat = heartbeat(ws, options.keepAliveMs ?? 12_000, () => void closeIfInactive(ws, context.scope.user, options.isActive).catch(() => undefined));
    let pending = 0;
    const maxPending = options.engine.limits.maxPendingMessages;
    // Messages read and not yet answered (a start counts until its subscription is live): a graceful shutdown lets them answer.
    const inFlight = new InFlight();
    onDrain(ws, inFlight);
    ws.on('message', (raw) => {
      const text = raw.toString();
      if (++pending > maxPending) {
        ws.close(1008, 'Too many pending messages');
        return;
      }
      const end = inFlight.begin();
      this.queue = this.queue.then(() =>
        this.onMessage(text).finally(() => {
          pending--;
          end();
        }).catch((error: unknown) => {
          logger.error('graphql-ws (legacy) message failed', { error: String((error as Error)?.stack ?? error) });
          ws.close(1011, 'Internal server error');
        }),
      );
    });
    ws.once('close', () => this.release());
  }

  private send(message: LegacyMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState !== this.ws.OPEN) return resolve();
      this.ws.send(JSON.stringify(message), () => resolve());
    });
  }

  private async onMessage(text: string): Promise<void> {
    let message: LegacyMessage;
    try {
      message = JSON.parse(text) as LegacyMessage;
      if (!message || typeof message !== 'object') throw new Error('not an object');
    } catch {
      await this.send({ type: LEGACY.CONNECTION_ERROR, payload: { message: 'Message must be a JSON object.' } });
      return;
    }
    const id = typeof message.id === 'string' || typeof message.id === 'number' ? String(message.id) : undefined;
    switch (message.type) {
      case LEGACY.CONNECTION_INIT:
        return this.init(message.payload);
      case LEGACY.START:
        if (id === undefined) return this.send({ type: LEGACY.ERROR, payload: [{ message: 'An operation id is required.' }] });
        return this.start(id, message.payload);
      case LEGACY.STOP:
        if (id !== undefined) this.stop(id);
        return;
      case LEGACY.CONNECTION_TERMINATE:
        this.ws.close(1000, 'Terminated');
        return;
      default:
        await this.send({ id, type: LEGACY.ERROR, payload: [{ message: 'Invalid message type!' }] });
    }
  }

  private async init(payload: unknown): Promise<void> {
    if (this.initialised) {
      await this.send({ type: LEGACY.CONNECTION_ERROR, payload: { message: 'Already initialised.' } });
      return;
    }
    this.initialised = true;
    if (this.initTimer) clearTimeout(this.initTimer);
    let refused = this.auth.kind === 'invalid';
    if (!refused && this.auth.kind !== 'user') {
      // First match wins: the upgrade's token (header, query, cookie), then the init payload's.
      const token = tokenFromPayload(payload);
      if (token) {
        const result = await resolveToken(this.options.authenticator, token);
        if (result.kind === 'user') this.context.scope.user = result.user;
        else refused = true;
      }
    }
    if (refused) {
      await this.send({ type: LEGACY.CONNECTION_ERROR, payload: { message: 'Invalid token.' } });
      this.ws.close(4403, 'Forbidden');
      return;
    }
    this.acknowledged = true;
    await this.send({ type: LEGACY.CONNECTION_ACK });
    const interval = this.options.keepAliveMs ?? 12_000;
    if (interval > 0 && Number.isFinite(interval)) {
      void this.send({ type: LEGACY.KEEP_ALIVE });
      this.keepAlive = setInterval(() => void this.send({ type: LEGACY.KEEP_ALIVE }), interval);
      this.keepAlive.unref();
    }
  }

  private async start(id: string, payload: unknown): Promise<void> {
    if (!this.acknowledged) {
      await this.send({ id, type: LEGACY.ERROR, payload: [{ message: 'Send connection_init first.', extensions: { code: 'BAD_REQUEST', status: 400 } }] });
      return;
    }
    if (await closeIfInactive(this.ws, this.context.scope.user, this.options.isActive)) return;
    // A start with the id of an active operation replaces it, as the original server did.
    if (this.operations.has(id)) this.stop(id);
    const prepared = this.options.engine.operation((payload ?? {}) as Record<string, unknown>, this.context);
    if (Array.isArray(prepared)) {
      await this.send({ id, type: LEGACY.ERROR, payload: prepared.map(formatError) });
      return;
    }
    const { args, type } = prepared as Exclude<typeof prepared, readonly GraphQLError[]>;
    const operation: Operation = { stopped: false };
    this.operations.set(id, operation);
    let result: ExecutionResult | AsyncGenerator<ExecutionResult>;
    try {
      result = type === 'subscription' ? await this.subscribe(id, args) : await this.options.engine.run(args, type);
    } catch (error) {
      this.operations.delete(id);
      await this.send({ id, type: LEGACY.ERROR, payload: [formatError(asGraphQLError(error))] });
      return;
    }
    if (!(Symbol.asyncIterator in result)) {
      if (!operation.stopped) {
        await this.send({ id, type: LEGACY.DATA, payload: formatResult(result) });
        await this.send({ id, type: LEGACY.COMPLETE });
      }
      if (this.operations.get(id) === operation) this.operations.delete(id);
      return;
    }
    if (operation.stopped) {
      await result.return(undefined);
      return;
    }
    operation.iterator = result;
    void this.pump(id, operation, result);
  }

  /** A subscription's event stream, delivered straight to this socket as `data` frames. */
  private async subscribe(id: string, args: ExecutionArgs): Promise<ExecutionResult | AsyncGenerator<ExecutionResult>> {
    const { engine } = this.options;
    const source = await engine.eventStream(args);
    if (!isAsyncIterable(source)) return source;
    return engine.delivery(source, args, socketTarget(this.ws, id, LEGACY.DATA));
  }

  /** Waits for a subscription to end, fail or be stopped, and says so to the client. */
  private async pump(id: string, operation: Operation, iterator: AsyncGenerator<ExecutionResult>): Promise<void> {
    try {
      for await (const result of iterator) {
        if (operation.stopped) break;
        await this.send({ id, type: LEGACY.DATA, payload: formatResult(result) });
      }
      // Also after a stop, as the original server did (the client ignores it).
      await this.send({ id, type: LEGACY.COMPLETE });
    } catch (error) {
      // The source stream failed (e.g. SLOW_CONSUMER): `error` ends the operation.
      if (!operation.stopped) await this.send({ id, type: LEGACY.ERROR, payload: [formatError(asGraphQLError(error))] });
    } finally {
      if (this.operations.get(id) === operation) this.operations.delete(id);
    }
  }

  private stop(id: string): void {
    const operation = this.operations.get(id);
    if (!operation) return;
    this.operations.delete(id);
    operation.stopped = true;
    void operation.iterator?.return(undefined);
  }

  /** Releases every operation of a closed socket. */
  private release(): void {
    if (this.initTimer) clearTimeout(this.initTimer);
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.stopHeartbeat();
    for (const operation of this.operations.values()) {
      operation.stopped = true;
      void operation.iterator?.return(undefined);
    }
    this.operations.clear();
  }
}

function asGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const original = error instanceof Error ? error : new Error(String(error));
  return new GraphQLError(original.message, { originalError: original });
}
