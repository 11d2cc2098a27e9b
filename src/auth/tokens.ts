/**
 * Where a client's token is found. An upgrade or HTTP request: first match wins, the
 * `Authorization: Bearer` (or `Token`) header, the `token` query parameter, then the `token` cookie.
 * A GraphQL connection_init payload: `{"authorization": "Bearer <t>"}` or `{"token": "<t>"}`.
 */
import type { IncomingMessage } from 'node:http';

/** `Bearer <t>` or `Token <t>` (DRF's authtoken scheme), any case, one token without spaces. */
const AUTHORIZATION_TOKEN = /^\s*(?:Bearer|Token)\s+(\S+)\s*$/i;

/** The token of an `Authorization` value (`Bearer <t>` or `Token <t>`), or undefined. */
export function tokenFromAuthorization(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return AUTHORIZATION_TOKEN.exec(value)?.[1];
}

/** The token a request carries, or undefined. */
export function tokenFromRequest(
  headers: IncomingMessage['headers'],
  query: URLSearchParams,
  cookies: Record<string, string>,
): string | undefined {
  const fromHeader = tokenFromAuthorization(headers.authorization);
  if (fromHeader) return fromHeader;
  const fromQuery = query.get('token');
  if (fromQuery) return fromQuery;
  if (cookies.token) return cookies.token;
  return undefined;
}

/** Reads the token of a connection_init payload: `{"authorization": "Bearer <t>"}` or `{"token": "<t>"}`. */
export function tokenFromPayload(payload: unknown): string | undefined {
  if (!payload || typeof payload !== 'object') return undefined;
  const record = payload as Record<string, unknown>;
  const fromAuthorization = tokenFromAuthorization(record.authorization ?? record.Authorization);
  if (fromAuthorization) return fromAuthorization;
  return typeof record.token === 'string' && record.token ? record.token : undefined;
}
