/**
 * Authentication of the upgrade (and of HTTP requests): finds a token, first match wins, in the
 * `Authorization: Bearer` header, the `token` query parameter, then the `token` cookie.
 */
import type { IncomingMessage } from 'node:http';
import type { AuthUser } from '../scope.js';
import { parseCookies } from '../scope.js';
import { redactSecret } from './redact.js';

/** Turns a token into a user; null when the token is unknown. */
export interface Authenticator {
  authenticate(token: string): Promise<AuthUser | null>;
  /** Re-reads a user (for checks after connect: deleted or deactivated users); null when gone or inactive. */
  refresh?(user: AuthUser): Promise<AuthUser | null>;
}

/** The outcome of reading a request's credentials. */
export type AuthResult =
  | { kind: 'anonymous' }
  | { kind: 'user'; user: AuthUser; token: string }
  | { kind: 'invalid' };

/** The token a request carries, or undefined. */
export function tokenFromRequest(headers: IncomingMessage['headers'], query: URLSearchParams, cookies: Record<string, string>): string | undefined {
  const header = headers.authorization;
  if (typeof header === 'string') {
    const match = /^\s*(?:Bearer|Token)\s+(\S+)\s*$/i.exec(header);
    if (match) return match[1];
  }
  const fromQuery = query.get('token');
  if (fromQuery) return fromQuery;
  if (cookies.token) return cookies.token;
  return undefined;
}

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

/** Reads the token of a connection_init payload: `{"authorization": "Bearer <t>"}` or `{"token": "<t>"}`. */
export function tokenFromPayload(payload: unknown): string | undefined {
  if (!payload || typeof payload !== 'object') return undefined;
  const record = payload as Record<string, unknown>;
  const authorization = record.authorization ?? record.Authorization;
  if (typeof authorization === 'string') {
    const match = /^\s*(?:Bearer|Token)\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  return typeof record.token === 'string' && record.token ? record.token : undefined;
}
