/**
 * CORS for GraphQL over HTTP: a page on an origin the gateway allows (ALLOWED_ORIGINS, PUBLIC_ORIGIN)
 * may call `/graphql` with `fetch`, its preflight answered; any other origin gets no CORS header, so
 * the browser keeps the answer from it. Credentials travel in the Authorization header, never in
 * cookies across origins (the `token` cookie is read only from allowed origins anyway).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OriginPolicy } from './origin.js';

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
const ALLOWED_HEADERS = 'authorization, content-type, accept';
/** How long a browser may reuse a preflight's answer (seconds). */
const PREFLIGHT_MAX_AGE = '600';

/**
 * Adds the CORS headers `request`'s Origin earns and answers a preflight; true when the request was a
 * preflight (answered here: 204 for an allowed origin, 403 otherwise).
 */
export function applyCors(origins: OriginPolicy, request: IncomingMessage, response: ServerResponse): boolean {
  const origin = request.headers.origin;
  response.setHeader('vary', 'Origin');
  const allowed = origin !== undefined && origin !== '' && origin !== 'null' && origins.originAllowed(request);
  if (allowed) {
    response.setHeader('access-control-allow-origin', origin);
    response.setHeader('access-control-expose-headers', 'content-type');
  }
  if (request.method !== 'OPTIONS') return false;
  if (!allowed) {
    response.writeHead(403, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify({ detail: 'Origin not allowed.' }));
    return true;
  }
  response.writeHead(204, {
    'access-control-allow-methods': ALLOWED_METHODS,
    'access-control-allow-headers': ALLOWED_HEADERS,
    'access-control-max-age': PREFLIGHT_MAX_AGE,
  });
  response.end();
  return true;
}
