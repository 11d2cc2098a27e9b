/**
 * Turning a token into a user: the `Authenticator` an app supplies, and how every protocol asks it
 * (the gateway for the upgrade and HTTP requests, the GraphQL sockets for connection_init tokens).
 */
import type { AuthUser } from '../scope.js';
import { redactSecret } from './redact.js';

/** Turns a token into a user; null when the token is unknown. */
export interface Authenticator {
  authenticate(token: string): Promise<AuthUser | null>;
  /** Re-reads a user (for checks after connect: deleted or deactivated users); null when gone or inactive. */
  refresh?(user: AuthUser): Promise<AuthUser | null>;
}

/** The outcome of reading a request's credentials. */
export type AuthResult = { kind: 'anonymous' } | { kind: 'user'; user: AuthUser; token: string } | { kind: 'invalid' };

/** Resolves a token (or its absence) with the authenticator. */
export async function resolveToken(authenticator: Authenticator | undefined, token: string | undefined): Promise<AuthResult> {
  if (!token) return { kind: 'anonymous' };
  if (!authenticator) return { kind: 'invalid' };
  let user: AuthUser | null;
  try {
    user = await authenticator.authenticate(token);
  } catch (error) {
    // Database errors quote the failed query with its bound values: the token must not travel on
    // into whatever logs this error (every protocol's handler does).
    throw new Error(redactSecret(`authentication failed: ${String((error as Error)?.message ?? error)}`, token));
  }
  return user ? { kind: 'user', user, token } : { kind: 'invalid' };
}
