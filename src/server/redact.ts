/**
 * Keeps credentials out of logs: a request URL may carry `?token=...` (browsers cannot set headers
 * on a WebSocket upgrade), so every URL that is logged goes through here first.
 */

/** The URL with the value of every credential-like query parameter replaced by `***`. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url || !url.includes('?')) return url;
  return url.replace(/([?&](?:token|access_token|auth|authorization|key|password)=)[^&#]*/gi, '$1***');
}
