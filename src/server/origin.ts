/**
 * The upgrade's Origin check against cross-site socket hijacking: no Origin (non-browser clients) and
 * same-origin are allowed; other origins only when listed (`ALLOWED_ORIGINS`, `*` for any).
 */
import type { IncomingMessage } from 'node:http';

export function originAllowed(request: IncomingMessage, allowed: readonly string[] | undefined): boolean {
  const origin = request.headers.origin;
  if (!origin) return true;
  if (allowed?.includes('*')) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (parsed.host && parsed.host === request.headers.host) return true;
  return Boolean(allowed?.some((entry) => entry.replace(/\/$/, '') === parsed.origin));
}

/** Parses a comma list (ALLOWED_ORIGINS) into origins. */
export function parseOriginList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);
}
