/**
 * The connection scope: what the upgrade request said, who it authenticated, and the app's runtime.
 * Shared by every consumer of a multiplexed socket and by GraphQL resolvers (as `context.scope`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Runtime } from './runtime.js';

/** An authenticated user as the authenticator returns it. */
export interface AuthUser {
  id: unknown;
  username?: string;
  [key: string]: unknown;
}

export interface ConnectionScope {
  /** The runtime of the gateway that accepted the connection: its database and change hub. */
  readonly runtime: Runtime;
  /** The user, or null for an anonymous socket. */
  user: AuthUser | null;
  /** The request path without the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
  cookies: Record<string, string>;
  remoteAddress: string | undefined;
  /** The negotiated protocol. */
  protocol: 'dcrf' | 'graphql-transport-ws' | 'graphql-ws' | 'http';
  /** The stream, for a DCRF consumer behind the multiplexer or on /ws/<stream>. */
  stream?: string;
  /** Free space for authenticators and middleware. */
  extra: Record<string, unknown>;
}

/** Parses a Cookie header into a map (first value wins, as browsers send the most specific first). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    const name = part.slice(0, index).trim();
    if (!name || name in cookies) continue;
    let value = part.slice(index + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      cookies[name] = decodeURIComponent(value);
    } catch {
      cookies[name] = value;
    }
  }
  return cookies;
}
