/**
 * Keeps credentials out of logs: a request URL may carry `?token=...` (browsers cannot set headers
 * on a WebSocket upgrade), so every URL that is logged goes through here first.
 */

/** The URL with the value of every credential-like query parameter replaced by `***`. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url?.includes('?')) return url;
  return url.replace(/([?&](?:token|access_token|auth|authorization|key|password)=)[^&#]*/gi, '$1***');
}

/**
 * `text` with every occurrence of `secret` replaced by `***`. Database drivers put bound values into
 * their error messages (knex: the SQL with its bindings), so an error raised while a token was being
 * looked up carries the token; logging it goes through here.
 */
export function redactSecret(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join('***');
}
