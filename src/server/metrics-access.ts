/**
 * Who may read `/metrics`. By default anyone who reaches the port; `metricsToken` asks for
 * `Authorization: Bearer <token>`; `metricsPort` serves the metrics on a listener of their own (a
 * private address, say) and no longer on the public port.
 */
import crypto from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { tokenFromAuthorization } from '../auth/tokens.js';
import type { GatewayMetrics } from './metrics.js';
import { setSecurityHeaders } from './security-headers.js';

/** Whether a request carries the bearer token (compared in constant time); true when no token is set. */
export function metricsAuthorized(request: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const offered = tokenFromAuthorization(request.headers.authorization);
  if (!offered) return false;
  // Hashes of equal length: timingSafeEqual needs that, and the token's length is not given away.
  const digest = (text: string) => crypto.createHash('sha256').update(text).digest();
  return crypto.timingSafeEqual(digest(offered), digest(token));
}

/** Answers `GET /metrics`: 401 without the token when one is set. */
export async function serveMetrics(
  metrics: GatewayMetrics,
  token: string | undefined,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (!metricsAuthorized(request, token)) {
    const body = JSON.stringify({ detail: 'Authentication credentials were not provided.' });
    response.writeHead(401, {
      'www-authenticate': 'Bearer realm="metrics"',
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
    return;
  }
  await metrics.serve(request, response);
}

/**
 * A listener serving nothing but `GET /metrics`. It answers any Host: it carries no user data, and
 * a scraper names it by whatever address it was given.
 */
export class MetricsServer {
  readonly server: http.Server;

  constructor(metrics: GatewayMetrics, token: string | undefined) {
    this.server = http.createServer((request, response) => {
      setSecurityHeaders(response);
      const path = (request.url ?? '/').split('?', 1)[0];
      if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ detail: 'Not found.' }));
        return;
      }
      serveMetrics(metrics, token, request, response).catch(() => {
        if (!response.headersSent) response.writeHead(500).end();
        else response.destroy();
      });
    });
  }

  /** Starts listening; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
