/**
 * The legacy `graphql-ws` protocol (Apollo's subscriptions-transport-ws), as a small adapter over the
 * same engine as the current protocol: connection_init → connection_ack (or connection_error and a
 * close 4403 for an unknown token), then `ka` keep-alives (only after the ack), start/stop,
 * data/error/complete, connection_terminate. Every operation is released when the socket closes
 * (the original server leaked them). Messages are handled in order: an operation starts only once
 * the init before it was answered and the subscriptions before it are live.
 *
 * The per-socket limits are those of the current protocol (socket-limits.ts), answered the legacy
 * way: an `error` for the operation (over the rate: RATE_LIMITED; too many client bytes kept:
 * THROTTLED; an id longer than `maxKeyBytes`: BAD_REQUEST, without the id), close 1008 for continued
 * excess or too many waiting messages, 1013 for unsent output past the bound. A user gone since
 * connect gets `connection_error` and a close 4403 before anything else.
 */
import type { IncomingMessage } from 'node:http';
import { GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import { logger } from '../logger.js';
import type { ConnectionScope } from '../scope.js';
import type { AuthResult } from '../auth/authenticator.js';
import { isAsyncIterable, type GraphQLContext } from './engine.js';
import { socketTarget } from './event-delivery.js';
import { formatError, formatResult } from './errors.js';
import { heartbeat } from './heartbeat.js';
import { InFlight, onDrain } from '../in-flight.js';
import {
  nextTurn,
  PENDING_CLOSE,
  RATE_CLOSE,
  rateLimitedError,
  retainedError,
  SocketBudget,
  type GraphQLSocketLimits,
} from './socket-limits.js';
import { SocketOutput } from './socket-output.js';
import { SocketUser } from './socket-user.js';
import { authenticateInit, type GraphQLWsOptions } from './ws-common.js';

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

interface Operation {
  iterator?: AsyncGenerator<ExecutionResult>;
  stopped: boolean;
  /** The client bytes this operation keeps (its start message), given back once when it ends. */
  bytes: number;
}

interface LegacyMessage {
  id?: unknown;
  type?: unknown;
  payload?: unknown;
}

export class LegacyWsServer {
  constructor(private readonly options: GraphQLWsOptions) {}

  /** Serves one accepted socket, under the per-socket limits the gateway gives it. */
  handle(ws: WebSocket, scope: ConnectionScope, auth: AuthResult, _request: IncomingMessage, limits?: GraphQLSocketLimits): void {
    new LegacyConnection(ws, this.options, this.options.engine.context(scope), auth, limits);
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
  private readonly budget: SocketBudget;
  private readonly user: SocketUser;
  private readonly output: SocketOutput;

  constructor(
    ws: WebSocket,
    private readonly options: GraphQLWsOptions,
    private readonly context: GraphQLContext,
    private readonly auth: AuthResult,
    limits: GraphQLSocketLimits | undefined,
  ) {
    this.budget = new SocketBudget(limits, options.engine.limits.maxPendingMessages);
    this.user = new SocketUser(context.scope, options.currentUser, () => this.userGone());
    this.output = new SocketOutput(ws, this.budget.maxBufferedBytes, this.budget.observer, this.user);
    const wait = options.connectionInitWaitTimeout ?? 3000;
    if (wait > 0 && Number.isFinite(wait)) {
      this.initTimer = setTimeout(() => {
        if (!this.initialised) this.output.close(4408, 'Connection initialisation timeout');
      }, wait);
    }
    this.stopHeartbeat = heartbeat(ws, options.keepAliveMs ?? 12_000, () => void this.user.check());
    // Messages read and not yet answered (a start counts until its subscription is live): a graceful shutdown lets them answer.
    const inFlight = new InFlight();
    onDrain(ws, inFlight);
    ws.on('message', (raw: Buffer) => {
      // A closing socket's messages are not handled: nothing of theirs could be sent anyway.
      if (!this.output.open) return;
      const bytes = raw.length;
      const rate = this.budget.admit();
      if (rate === 'close') return this.output.close(RATE_CLOSE.code, RATE_CLOSE.reason, true);
      if (!this.budget.queue(bytes)) return this.output.close(PENDING_CLOSE.code, PENDING_CLOSE.reason, true);
      const text = raw.toString();
      const end = inFlight.begin();
      this.queue = this.queue.then(nextTurn).then(() =>
        this.onMessage(text, bytes, rate === 'throttled')
          .finally(() => {
            this.budget.dequeue(bytes);
            end();
          })
          .catch((error: unknown) => {
            logger.error('graphql-ws (legacy) message failed', { error: String((error as Error)?.stack ?? error) });
            this.output.close(1011, 'Internal server error');
          }),
      );
    });
    ws.once('close', () => this.release());
  }

  /** Sends a message now (bounded: see SocketOutput); never waits for the network. */
  private send(message: LegacyMessage): void {
    this.output.send(JSON.stringify(message));
  }

  private async onMessage(text: string, bytes: number, throttled: boolean): Promise<void> {
    if (!this.output.open) return;
    let message: LegacyMessage;
    try {
      message = JSON.parse(text) as LegacyMessage;
      if (!message || typeof message !== 'object') throw new Error('not an object');
    } catch {
      this.send({ type: LEGACY.CONNECTION_ERROR, payload: { message: 'Message must be a JSON object.' } });
      return;
    }
    const id = typeof message.id === 'string' || typeof message.id === 'number' ? String(message.id) : undefined;
    // An id that would become a key must be short; the legacy client numbers its operations, so only a
    // hostile client sends a long one: it gets an `error` without its id echoed.
    if (id !== undefined && this.budget.idRefused(id)) {
      this.send({
        type: LEGACY.ERROR,
        payload: [
          { message: `Operation id is longer than ${this.budget.maxKeyBytes} bytes.`, extensions: { code: 'BAD_REQUEST', status: 400 } },
        ],
      });
      return;
    }
    switch (message.type) {
      case LEGACY.CONNECTION_INIT:
        return this.init(message.payload);
      case LEGACY.START:
        if (id === undefined) return this.send({ type: LEGACY.ERROR, payload: [{ message: 'An operation id is required.' }] });
        if (throttled) return this.send({ id, type: LEGACY.ERROR, payload: [formatError(rateLimitedError())] });
        return this.start(id, message.payload, bytes);
      case LEGACY.STOP:
        if (id !== undefined) this.stop(id);
        return;
      case LEGACY.CONNECTION_TERMINATE:
        this.output.close(1000, 'Terminated');
        return;
      default:
        this.send({ id, type: LEGACY.ERROR, payload: [{ message: 'Invalid message type!' }] });
    }
  }

  private async init(payload: unknown): Promise<void> {
    if (this.initialised) {
      this.send({ type: LEGACY.CONNECTION_ERROR, payload: { message: 'Already initialised.' } });
      return;
    }
    this.initialised = true;
    if (this.initTimer) clearTimeout(this.initTimer);
    if (!(await authenticateInit(this.context.scope, this.auth, payload, this.options.authenticator))) {
      this.send({ type: LEGACY.CONNECTION_ERROR, payload: { message: 'Invalid token.' } });
      this.output.close(4403, 'Forbidden');
      return;
    }
    this.acknowledged = true;
    this.send({ type: LEGACY.CONNECTION_ACK });
    const interval = this.options.keepAliveMs ?? 12_000;
    if (interval > 0 && Number.isFinite(interval)) {
      this.send({ type: LEGACY.KEEP_ALIVE });
      this.keepAlive = setInterval(() => this.send({ type: LEGACY.KEEP_ALIVE }), interval);
      this.keepAlive.unref();
    }
  }

  private async start(id: string, payload: unknown, bytes: number): Promise<void> {
    if (!this.acknowledged) {
      this.send({
        id,
        type: LEGACY.ERROR,
        payload: [{ message: 'Send connection_init first.', extensions: { code: 'BAD_REQUEST', status: 400 } }],
      });
      return;
    }
    // A user gone since connect: connection_error and 4403 were sent instead.
    if (!(await this.user.check())) return;
    // A start with the id of an active operation replaces it, as the original server did.
    if (this.operations.has(id)) this.stop(id);
    const prepared = this.options.engine.operation((payload ?? {}) as Record<string, unknown>, this.context);
    if (Array.isArray(prepared)) {
      this.send({ id, type: LEGACY.ERROR, payload: prepared.map(formatError) });
      return;
    }
    if (!this.budget.retain(bytes)) {
      this.send({ id, type: LEGACY.ERROR, payload: [formatError(retainedError(this.budget.maxRetainedBytes))] });
      return;
    }
    const { args, type } = prepared as Exclude<typeof prepared, readonly GraphQLError[]>;
    const operation: Operation = { stopped: false, bytes };
    this.operations.set(id, operation);
    let result: ExecutionResult | AsyncGenerator<ExecutionResult>;
    try {
      result = type === 'subscription' ? await this.subscribe(id, args) : await this.options.engine.run(args, type);
    } catch (error) {
      this.forget(id, operation);
      this.send({ id, type: LEGACY.ERROR, payload: [formatError(asGraphQLError(error))] });
      return;
    }
    if (!(Symbol.asyncIterator in result)) {
      if (!operation.stopped) {
        this.send({ id, type: LEGACY.DATA, payload: formatResult(result) });
        this.send({ id, type: LEGACY.COMPLETE });
      }
      this.forget(id, operation);
      return;
    }
    if (operation.stopped) {
      this.forget(id, operation);
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
    return engine.delivery(source, args, socketTarget(this.output, id, LEGACY.DATA));
  }

  /** Waits for a subscription to end, fail or be stopped, and says so to the client. */
  private async pump(id: string, operation: Operation, iterator: AsyncGenerator<ExecutionResult>): Promise<void> {
    try {
      for await (const result of iterator) {
        if (operation.stopped) break;
        this.send({ id, type: LEGACY.DATA, payload: formatResult(result) });
      }
      // Also after a stop, as the original server did (the client ignores it).
      this.send({ id, type: LEGACY.COMPLETE });
    } catch (error) {
      // The source stream failed (e.g. SLOW_CONSUMER): `error` ends the operation.
      if (!operation.stopped) this.send({ id, type: LEGACY.ERROR, payload: [formatError(asGraphQLError(error))] });
    } finally {
      this.forget(id, operation);
    }
  }

  private stop(id: string): void {
    const operation = this.operations.get(id);
    if (!operation) return;
    this.forget(id, operation);
    operation.stopped = true;
    void operation.iterator?.return(undefined);
  }

  /** Removes an operation that ended, and gives back the bytes it kept (once). */
  private forget(id: string, operation: Operation): void {
    if (this.operations.get(id) === operation) this.operations.delete(id);
    this.budget.release(operation.bytes);
    operation.bytes = 0;
  }

  /** The socket's user was deleted or deactivated: it is told, and the socket closes, before anything else is sent. */
  private userGone(): void {
    this.send({ type: LEGACY.CONNECTION_ERROR, payload: { message: 'User is no longer active.' } });
    this.output.close(4403, 'Forbidden');
  }

  /** Releases every operation of a closed socket. */
  private release(): void {
    this.output.ended();
    if (this.initTimer) clearTimeout(this.initTimer);
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.stopHeartbeat();
    for (const [id, operation] of this.operations) {
      this.forget(id, operation);
      operation.stopped = true;
      void operation.iterator?.return(undefined);
    }
  }
}

function asGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const original = error instanceof Error ? error : new Error(String(error));
  return new GraphQLError(original.message, { originalError: original });
}
