/**
 * What the GraphQL side plugs into the gateway (the gateway's `graphql` option), and the two
 * subprotocols it serves. Here, below the server layer, so that the gateway imports it and the GraphQL
 * adapter implements it without either importing the other's layer upwards.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEPRECATED_GRAPHQL_WS_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL } from 'graphql-ws';
import type { WebSocket } from 'ws';
import type { AuthResult } from '../auth/authenticator.js';
import type { Resource } from '../resources/resource.js';
import type { ConnectionScope } from '../scope.js';
import type { GraphQLSocketLimits, SocketObserver } from './socket-limits.js';

/** The current GraphQL over WebSocket subprotocol (graphql-ws). */
export const GRAPHQL_TRANSPORT_WS = GRAPHQL_TRANSPORT_WS_PROTOCOL;
/** The legacy subprotocol of Apollo's subscriptions-transport-ws. */
export const GRAPHQL_WS_LEGACY = DEPRECATED_GRAPHQL_WS_PROTOCOL;
/** A GraphQL subprotocol a socket negotiated. */
export type GraphQLSubprotocol = typeof GRAPHQL_TRANSPORT_WS | typeof GRAPHQL_WS_LEGACY;

/** What the GraphQL side plugs into the gateway. */
export interface GraphQLAdapter {
  /** Serves an accepted socket that negotiated a GraphQL subprotocol. */
  handleSocket(
    ws: WebSocket,
    protocol: GraphQLSubprotocol,
    scope: ConnectionScope,
    auth: AuthResult,
    request: IncomingMessage,
    /** The per-socket limits DCRF sockets have too (output bound, rate, key length, retained bytes) and the counters. */
    limits?: GraphQLSocketLimits,
  ): void;
  /** Serves `/graphql` over HTTP. */
  handleHttp(request: IncomingMessage, response: ServerResponse, scope: ConnectionScope): Promise<void>;
  close?(): Promise<void>;
  /** Hands over the gateway's counters (GraphQL limit hits are counted with the others). */
  observe?(observer: SocketObserver): void;
  /** The resources its fields serve, each with the first field serving it (the gateway's startup checks). */
  servedResources?(): Array<[field: string, resource: Resource]>;
}
