/**
 * The current GraphQL over WebSocket protocol (`graphql-transport-ws`), served by graphql-ws's
 * `makeServer` on sockets the gateway already accepted (the gateway owns the upgrade and the
 * subprotocol choice, which `useServer` would take over).
 *
 * What this wiring adds to `makeServer`: the token of the connection_init payload (unless the upgrade
 * carried one), the shared engine (cached parse + validate + limits), error masking, close reasons cut
 * under 124 bytes, 4500 with a masked reason for internal failures, and per-socket ordering: a
 * message is handled only once the subscriptions sent before it are live, so a client that
 * subscribes and then mutates on the same socket sees its own change. A subscription's events are
 * executed once per event for all alike subscribers and sent by an EventDelivery (event-delivery.ts).
 * The per-socket limits (socket-limits.ts) apply to every message: the rate (an over-the-rate
 * operation gets an `error` RATE_LIMITED; continued excess closes 1008), operation ids of at most
 * `maxKeyBytes` (else 4400), the bytes of waiting messages and of running operations, and the bound on
 * unsent output (socket-output.ts, 1013). The socket's user is re-checked before every operation and
 * every event (socket-user.ts): a user gone since connect closes the socket 4403 before anything else
 * is sent.
 */
import type { IncomingMessage } from 'node:http';
import { GraphQLError, OperationTypeNode } from 'graphql';
import { CloseCode, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket } from 'ws';
import { logger } from '../logger.js';
import type { ConnectionScope } from '../scope.js';
import type { AuthResult } from '../auth/authenticator.js';
import { isAsyncIterable, type GraphQLContext } from './engine.js';
import { socketTarget } from './event-delivery.js';
import { formatError, formatResult, INTERNAL_MESSAGE } from './errors.js';
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

interface SocketExtra {
  socket: WebSocket;
  request: IncomingMessage;
  auth: AuthResult;
  context: GraphQLContext;
  output: SocketOutput;
  user: SocketUser;
  /** Operations refused by a per-socket limit before they reach onSubscribe (which answers with the error). */
  refusals: Map<string, GraphQLError>;
  /** Releases the message queue once an operation's subscription (or result) exists. */
  started: Map<string, () => void>;
  /** Ends an operation's count of work under way once it is a live subscription (a shutdown does not wait for those). */
  running: Map<string, () => void>;
}

export class TransportWsServer {
  private readonly server: ReturnType<typeof makeServer<Record<string, unknown> | undefined, SocketExtra>>;

  constructor(private readonly options: GraphQLWsOptions) {
    const { engine, authenticator } = options;
    const serverOptions: ServerOptions<Record<string, unknown> | undefined, SocketExtra> = {
      schema: engine.schema,
      connectionInitWaitTimeout: options.connectionInitWaitTimeout ?? 3000,
      onConnect: (ctx) => {
        const payload = ctx.connectionParams;
        // The payload is read for its token only: the socket does not keep the client's bytes.
        (ctx as { connectionParams?: unknown }).connectionParams = undefined;
        return authenticateInit(ctx.extra.context.scope, ctx.extra.auth, payload, authenticator);
      },
      onSubscribe: async (ctx, id, payload) => {
        const refusal = ctx.extra.refusals.get(id);
        if (refusal) {
          ctx.extra.refusals.delete(id);
          return [refusal];
        }
        // A user gone since connect: the socket is closing 4403; this error is never sent.
        if (!(await ctx.extra.user.check())) return [new GraphQLError('Forbidden')];
        const operation = engine.operation(payload, ctx.extra.context);
        return Array.isArray(operation) ? operation : (operation as { args: any }).args;
      },
      // The engine's run: a query that selects `changePosition` takes the head before its fields run.
      execute: (args) => engine.run(args, OperationTypeNode.QUERY) as ReturnType<NonNullable<ServerOptions['execute']>>,
      // The event stream only: results are executed, encoded and sent by the EventDelivery below.
      subscribe: (args) => engine.eventStream(args) as ReturnType<NonNullable<ServerOptions['subscribe']>>,
      onOperation: (ctx, id, _payload, args, result) => {
        const release = ctx.extra.started.get(id);
        ctx.extra.started.delete(id);
        release?.();
        if (!isAsyncIterable(result)) return undefined;
        ctx.extra.running.get(id)?.();
        return engine.delivery(result, args, socketTarget(ctx.extra.output, id, 'next'));
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? (formatResult(result) as any) : undefined),
      onError: (_ctx, _id, _payload, errors) => errors.map(formatError) as any,
    };
    this.server = makeServer(serverOptions);
  }

  /** Serves one accepted socket, under the per-socket limits the gateway gives it. */
  handle(ws: WebSocket, scope: ConnectionScope, auth: AuthResult, request: IncomingMessage, limits?: GraphQLSocketLimits): void {
    const budget = new SocketBudget(limits, this.options.engine.limits.maxPendingMessages);
    const user = new SocketUser(scope, this.options.currentUser, () => output.close(CloseCode.Forbidden, 'Forbidden'));
    const output = new SocketOutput(ws, budget.maxBufferedBytes, budget.observer, user);
    const extra: SocketExtra = {
      socket: ws,
      request,
      auth,
      context: this.options.engine.context(scope),
      output,
      user,
      refusals: new Map(),
      started: new Map(),
      running: new Map(),
    };
    // Queries and mutations under way, and subscriptions not yet live: a graceful shutdown lets them answer.
    const inFlight = new InFlight();
    onDrain(ws, inFlight);
    let handler: ((data: unknown) => Promise<void>) | undefined;
    const closed = this.server.opened(
      {
        protocol: ws.protocol,
        // Never waits for the network: the output bound (1013) is what holds a client that stops reading.
        send: (data) => void output.send(data),
        close: (code, reason) => output.close(code, reason),
        onMessage: (callback) => {
          handler = callback as (data: unknown) => Promise<void>;
        },
      },
      extra,
    );
    const stopHeartbeat = heartbeat(ws, this.options.keepAliveMs ?? 12_000, () => void user.check());
    const handle = (message: unknown): Promise<void> =>
      (handler ? handler(message) : Promise.resolve()).catch((error: unknown) => {
        logger.error('graphql-transport-ws message failed', { error: String((error as Error)?.stack ?? error) });
        output.close(CloseCode.InternalServerError, INTERNAL_MESSAGE);
      });

    let queue: Promise<void> = Promise.resolve();
    ws.on('message', (raw: Buffer) => {
      // A closing socket's messages are not handled: nothing of theirs could be sent anyway.
      if (!output.open) return;
      const bytes = raw.length;
      const text = raw.toString();
      let message: unknown = text;
      try {
        message = JSON.parse(text);
      } catch {
        // Handed on as text: makeServer closes 4400 for a message it cannot read.
      }
      const rate = budget.admit();
      if (rate === 'close') return output.close(RATE_CLOSE.code, RATE_CLOSE.reason, true);
      const messageId = idOf(message);
      if (messageId !== undefined && budget.idRefused(messageId)) {
        return output.close(CloseCode.BadRequest, `Invalid message received: id longer than ${budget.maxKeyBytes} bytes`, true);
      }
      // Ping and pong touch no operation: answered at once, even while a subscription is being prepared.
      if (isPingOrPong(message)) {
        void handle(message);
        return;
      }
      if (!budget.queue(bytes)) return output.close(PENDING_CLOSE.code, PENDING_CLOSE.reason, true);
      const id = subscribeId(message);
      const end = id !== undefined ? inFlight.begin() : undefined;
      if (end) extra.running.set(id!, end);
      const after = queue;
      let started: (() => void) | undefined;
      if (id !== undefined) queue = new Promise<void>((resolve) => (started = resolve));
      void (id === undefined ? after : after.then(nextTurn)).then(() => {
        budget.dequeue(bytes);
        if (!output.open) {
          end?.();
          started?.();
          return;
        }
        // An operation over the rate, or past the socket's retained bytes, is refused in order, by
        // onSubscribe (after graphql-ws's own checks: 4401 before the ack, 4409 for an id in use).
        let retained = 0;
        if (id !== undefined) {
          const refusal =
            rate === 'throttled' ? rateLimitedError() : budget.retain(bytes) ? undefined : retainedError(budget.maxRetainedBytes);
          if (refusal) extra.refusals.set(id, refusal);
          else retained = bytes;
        }
        if (started && id !== undefined) extra.started.set(id, started);
        const handling = handle(message);
        if (id === undefined) return;
        void handling.finally(() => {
          budget.release(retained);
          end?.();
          if (extra.running.get(id) === end) extra.running.delete(id);
          started?.();
          if (extra.started.get(id) === started) extra.started.delete(id);
        });
      });
    });
    ws.once('close', (code, reason) => {
      stopHeartbeat();
      output.ended();
      for (const release of extra.started.values()) release();
      extra.started.clear();
      closed(code, reason.toString()).catch(() => undefined);
    });
    // An unknown token (from the upgrade) is refused the way graphql-ws clients retry on: 4403.
    if (auth.kind === 'invalid') output.close(CloseCode.Forbidden, 'Forbidden');
  }
}

/** The `id` of a message that has a string one (subscribe, next, complete...). */
function idOf(message: unknown): string | undefined {
  if (!message || typeof message !== 'object') return undefined;
  const id = (message as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

function subscribeId(message: unknown): string | undefined {
  if (!message || typeof message !== 'object') return undefined;
  const record = message as { type?: unknown; id?: unknown };
  return record.type === 'subscribe' && typeof record.id === 'string' ? record.id : undefined;
}

function isPingOrPong(message: unknown): boolean {
  if (!message || typeof message !== 'object') return false;
  const type = (message as { type?: unknown }).type;
  return type === 'ping' || type === 'pong';
}
