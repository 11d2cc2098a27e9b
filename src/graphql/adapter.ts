/**
 * The GraphQL side of the gateway: one engine (schema, cache, limits) behind three transports:
 * HTTP, graphql-transport-ws and the legacy graphql-ws.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLSchema } from 'graphql';
import type { WebSocket } from 'ws';
import type { ConnectionScope } from '../scope.js';
import type { Authenticator, AuthResult } from '../auth/authenticator.js';
import { UserRecheck } from '../auth/user-recheck.js';
import type { Resource } from '../resources/resource.js';
import { servedResources } from './bind.js';
import { GraphQLEngine } from './engine.js';
import { GRAPHQL_TRANSPORT_WS, type GraphQLAdapter, type GraphQLSubprotocol } from './gateway-adapter.js';
import { GraphQLHttpHandler } from './http.js';
import type { GraphQLLimits } from './limits.js';
import { LegacyWsServer } from './legacy-ws.js';
import type { GraphQLSocketLimits, SocketObserver } from './socket-limits.js';
import { TransportWsServer } from './transport-ws.js';

export interface GraphQLAdapterOptions {
  schema: GraphQLSchema;
  /** Resolves connection_init payload tokens; the gateway resolves the upgrade's own token. */
  authenticator?: Authenticator;
  limits?: Partial<GraphQLLimits>;
  /** Parsed and validated documents kept (LRU). Default 1000. */
  cacheSize?: number;
  /** Tokens of the cached documents, in all (a parsed document keeps about 500 bytes per token). Default 50,000. */
  cacheTokens?: number;
  /** See EngineOptions.shareEventResults (default true). */
  shareEventResults?: boolean;
  /** Time a socket has to send connection_init; then it is closed 4408. Default 3000 ms. */
  connectionInitWaitTimeout?: number;
  /** WebSocket ping interval (and legacy `ka` interval). Default 12000 ms. */
  keepAliveMs?: number;
  /** Largest HTTP request body. Default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * How long a re-check of a socket's user (authenticator.refresh) is trusted. Sockets re-check before
   * each operation and on each keep-alive ping; a user gone or deactivated closes the socket 4403.
   * Default 1000 ms.
   */
  userRecheckMs?: number;
}

export class GraphQLGatewayAdapter implements GraphQLAdapter {
  readonly engine: GraphQLEngine;
  private readonly current: TransportWsServer;
  private readonly legacy: LegacyWsServer;
  private readonly http: GraphQLHttpHandler;

  constructor(options: GraphQLAdapterOptions) {
    this.engine = new GraphQLEngine(options.schema, {
      limits: options.limits,
      cacheSize: options.cacheSize,
      cacheTokens: options.cacheTokens,
      shareEventResults: options.shareEventResults,
    });
    const recheck = UserRecheck.for(options.authenticator, options.userRecheckMs);
    const shared = {
      engine: this.engine,
      authenticator: options.authenticator,
      connectionInitWaitTimeout: options.connectionInitWaitTimeout,
      keepAliveMs: options.keepAliveMs,
      currentUser: recheck?.current,
    };
    this.current = new TransportWsServer(shared);
    this.legacy = new LegacyWsServer(shared);
    this.http = new GraphQLHttpHandler({ engine: this.engine, maxBodyBytes: options.maxBodyBytes });
  }

  /** Serves an accepted socket under the per-socket limits the gateway gives it (DEFAULT_SOCKET_LIMITS when none). */
  handleSocket(
    ws: WebSocket,
    protocol: GraphQLSubprotocol,
    scope: ConnectionScope,
    auth: AuthResult,
    request: IncomingMessage,
    limits?: GraphQLSocketLimits,
  ): void {
    if (protocol === GRAPHQL_TRANSPORT_WS) this.current.handle(ws, scope, auth, request, limits);
    else this.legacy.handle(ws, scope, auth, request, limits);
  }

  handleHttp(request: IncomingMessage, response: ServerResponse, scope: ConnectionScope): Promise<void> {
    return this.http.handle(request, response, scope);
  }

  /** Counts the engine's limit refusals as `limit_hits_total{limit="graphql_<limit>"}`. */
  observe(observer: SocketObserver): void {
    this.engine.onLimitHit = (limit) => observer.limitHit?.(`graphql_${limit}`);
  }

  servedResources(): Array<[field: string, resource: Resource]> {
    return servedResources(this.engine.schema);
  }
}

/** The GraphQL adapter for the gateway's `graphql` option. */
export function createGraphQLAdapter(options: GraphQLAdapterOptions): GraphQLGatewayAdapter {
  return new GraphQLGatewayAdapter(options);
}
