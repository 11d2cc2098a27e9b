/**
 * Security headers of the gateway's HTTP answers. Every answer gets the defaults (no sniffing, no
 * framing, no referrer, and a CSP that lets a JSON or text answer load nothing); the playground's
 * pages get a CSP of their own that its bundle works under.
 */
import type { ServerResponse } from 'node:http';

/** The playground: everything from its own origin; GraphiQL and Monaco need inline styles and workers. */
export const PLAYGROUND_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Monaco and GraphiQL set element styles and inject <style> tags at run time.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  // Monaco's language workers are files of the build (its blob: bootstrap is for cross-origin workers only).
  "worker-src 'self'",
  // 'self' covers ws:/wss: to the same host (CSP level 3): the playground only talks to its gateway.
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** What every answer carries unless a route sets its own. */
export const DEFAULT_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

/** The playground's headers: the defaults with its own CSP. */
export const PLAYGROUND_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  ...DEFAULT_SECURITY_HEADERS,
  'content-security-policy': PLAYGROUND_CSP,
};

/** Sets the default headers on a response; a route's own `writeHead` headers override them. */
export function setSecurityHeaders(response: ServerResponse): void {
  for (const [name, value] of Object.entries(DEFAULT_SECURITY_HEADERS)) response.setHeader(name, value);
}
