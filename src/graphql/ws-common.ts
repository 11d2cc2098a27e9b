/**
 * What the two GraphQL WebSocket protocols (transport-ws.ts, legacy-ws.ts) share: the options their
 * servers take, and how a connection_init authenticates.
 */
import { resolveToken, type Authenticator, type AuthResult } from '../auth/authenticator.js';
import { tokenFromPayload } from '../auth/tokens.js';
import type { ConnectionScope } from '../scope.js';
import type { GraphQLEngine } from './engine.js';
import type { CurrentUser } from './socket-user.js';

/** The options of a GraphQL WebSocket server (either protocol). */
export interface GraphQLWsOptions {
  engine: GraphQLEngine;
  /** Resolves connection_init payload tokens; the gateway resolves the upgrade's own token. */
  authenticator?: Authenticator;
  /** Time a client has to send connection_init before the socket is closed 4408. Default 3000 ms. */
  connectionInitWaitTimeout?: number;
  /**
   * WebSocket ping interval (a socket that misses a pong is terminated) and, on the legacy protocol,
   * the interval of `ka` messages after the ack (its client gives up after 30 s without one).
   * Default 12000 ms; 0 = off.
   */
  keepAliveMs?: number;
  /** The socket's user as it is now (UserRecheck.current): a deleted or deactivated user closes the socket 4403. */
  currentUser?: CurrentUser;
}

/**
 * Authenticates a connection_init: first match wins, so a token on the upgrade (header, query, cookie)
 * beats the payload's (`{"authorization": "Bearer <t>"}` or `{"token": "<t>"}`). Sets the scope's user
 * from the payload's token; false when the socket must be refused (an unknown token on either).
 */
export async function authenticateInit(
  scope: ConnectionScope,
  upgrade: AuthResult,
  payload: unknown,
  authenticator: Authenticator | undefined,
): Promise<boolean> {
  if (upgrade.kind !== 'anonymous') return upgrade.kind === 'user';
  const token = tokenFromPayload(payload);
  if (!token) return true;
  const result = await resolveToken(authenticator, token);
  if (result.kind !== 'user') return false;
  scope.user = result.user;
  return true;
}
