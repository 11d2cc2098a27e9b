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
 */
import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import { CloseCode, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket } from 'ws';
import { logger } from '../logger.js';
import type { AuthUser, ConnectionScope } from '../scope.js';
import { resolveToken, tokenFromPayload, type Authenticator, type AuthResult } from '../server/auth.js';
import { isAsyncIterable, type GraphQLContext, type GraphQLEngine } from './engine.js';
import { socketTarget } from './event-delivery.js';
import { formatError, formatResult, INTERNAL_MESSAGE, limitReason } from './errors.js';
import { heartbeat } from './heartbeat.js';
import { InFlight, onDrain } from '../in-flight.js';

export interface TransportWsOptions {
  engine: GraphQLEngine;
  authenticator?: Authenticator;
  /** Time a client has to send connection_init before the socket is closed 4408. Default 3000 ms. */
  connectionInitWaitTimeout?: number;
  /** WebSocket ping interval; a socket that misses a pong is terminated. Default 12000 ms; 0 = off. */
  keepAliveMs?: number;
  /** Whether a socket's user may still act (deleted or deactivated users: close 4403). */
  isActive?: (user: AuthUser) => boolean | Promise<boolean>;
}

/** The close of a socket whose user is no longer valid; graphql-ws clients reconnect with fresh connectionParams. */
export async function closeIfInactive(ws: WebSocket, user: AuthUser | null, isActive: TransportWsOptions['isActive']): Promise<boolean> {
  if (!user || !isActive || (await isActive(user))) return false;
  ws.close(CloseCode.Forbidden, 'Forbidden');
  return true;
}

interface SocketExtra {
  socket: WebSocket;
  request: IncomingMessage;
  auth: AuthResult;
  context: GraphQLContext;
  /** Releases the message queue once an operation's subscription (or result) exists. */
  started: Map<string, () => void>;
  /** Ends an operation's count of work under way once it is a live subscription (a shutdown does not wait for those). */
  running: Map<string, () => void>;
}

export class TransportWsServer {
  private readonly server: ReturnType<typeof makeServer<Record<string, unknown> | undefined, SocketExtra>>;

  constructor(private readonly options: TransportWsOptions) {
    const { engine, authenticator } = options;
    const serverOptions: ServerOptions<Record<string, unknown> | undefined, SocketExtra> = {
      schema: engine.schema,
      connectionInitWaitTimeout: options.connectionInitWaitTimeout ?? 3000,
      onConnect: async (ctx) => {
        // First match wins: a token on the upgrade (header, query, cookie) beats the init payload.
        if (ctx.extra.auth.kind === 'user') return true;
        const token = tokenFromPayload(ctx.connectionParams);
        if (!token) return true;
        const result = await resolveToken(authenticator, token);
        if (result.kind !== 'user') return false;
        ctx.extra.context.scope.user = result.user;
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        if (await closeIfInactive(ctx.extra.socket, ctx.extra.context.scope.user, options.isActive)) return [new GraphQLError('Forbidden')];
        const operation = engine.operation(payload, ctx.extra.context);
        return Array.isArray(operation) ? operation : (operation as { args: any }).args;
      },
      // The event stream only: results are executed, encoded and sent by the EventDelivery below.
      subscribe: (args) => engine.eventStream(args) as ReturnType<NonNullable<ServerOptions['subscribe']>>,
      onOperation: (ctx, id, _payload, args, result) => {
        const release = ctx.extra.started.get(id);
        ctx.extra.started.delete(id);
        release?.();
        if (!isAsyncIterable(result)) return undefined;
        ctx.extra.running.get(id)?.();
        return engine.delivery(result, args, socketTarget(ctx.extra.socket, id, 'next'));
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? (formatResult(result) as any) : undefined),
      onError: (_ctx, _id, _payload, errors) => errors.map(formatError) as any,
    };
    this.server = makeServer(serverOptions);
  }

  /** Serves one accepted socket. */
  handle(ws: WebSocket, scope: ConnectionScope, auth: AuthResult, request: IncomingMessage): void {
    const extra: SocketExtra = { socket: ws, request, auth, context: this.options.engine.context(scope), started: new Map(), running: new Map() };
    // Queries and mutations under way, and subscriptions not yet live: a graceful shutdown lets them answer.
    const inFlight = new InFlight();
    onDrain(ws, inFlight);
    let handler: ((data: unknown) => Promise<void>) | undefined;
    const closed = this.server.opened(
      {
        protocol: ws.protocol,
        // A send to a socket that is closing is dropped: its operations are being released anyway.
        send: (data) => new Promise<void>((resolve) => (ws.readyState === ws.OPEN ? ws.send(data, () => resolve()) : resolve())),
        close: (code, reason) => ws.close(code, limitReason(reason ?? '')),
        onMessage: (callback) => {
          handler = callback as (data: unknown) => Promise<void>;
        },
      },
      extra,
    );
    const stopHeartbeat = heartbeat(ws, this.options.keepAliveMs ?? 12_000, () => void closeIfInactive(ws, scope.user, this.options.isActive).catch(() => undefined));

    let queue: Promise<void> = Promise.resolve();
    let pending = 0;
    const maxPending = this.options.engine.limits.maxPendingMessages;
    ws.on('message', (raw) => {
      const text = raw.toString();
      let message: unknown = text;
      try {
        message = JSON.parse(text);
      } catch {
        // Handed on as text: makeServer closes 4400 for a message it cannot read.
      }
      // Ping and pong touch no operation: answered at once, even while a subscription is being prepared.
      if (isPingOrPong(message)) {
        void (handler ? handler(message) : Promise.resolve()).catch(() => ws.close(CloseCode.InternalServerError, INTERNAL_MESSAGE));
        return;
      }
      if (++pending > maxPending) {
        ws.close(1008, 'Too many pending messages');
        return;
      }
      const id = subscribeId(message);
      const end = id !== undefined ? inFlight.begin() : undefined;
      if (end) extra.running.set(id!, end);
      const after = queue;
      let started: (() => void) | undefined;
      if (id !== undefined) queue = new Promise<void>((resolve) => (started = resolve));
      void after.then(() => {
        pending--;
        if (started && id !== undefined) extra.started.set(id, started);
        const handling = (handler ? handler(message) : Promise.resolve()).catch((error: unknown) => {
          logger.error('graphql-transport-ws message failed', { error: String((error as Error)?.stack ?? error) });
          ws.close(CloseCode.InternalServerError, INTERNAL_MESSAGE);
        });
        if (end) {
          void handling.finally(() => {
            end();
            if (extra.running.get(id!) === end) extra.running.delete(id!);
          });
        }
        if (started) {
          const release = started;
          void handling.finally(() => {
            release();
            if (id !== undefined && extra.started.get(id) === release) extra.started.delete(id);
          });
        }
      });
    });
    ws.once('close', (code, reason) => {
      stopHeartbeat();
      for (const release of extra.started.values()) release();
      extra.started.clear();
      closed(code, reason.toString()).catch(() => undefined);
    });
    // An unknown token (from the upgrade) is refused the way graphql-ws clients retry on: 4403.
    if (auth.kind === 'invalid') ws.close(CloseCode.Forbidden, 'Forbidden');
  }
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
