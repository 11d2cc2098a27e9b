/**
 * The secret the demo's tokens are derived with (see auth.ts). It lives outside the database: from
 * TOKEN_SECRET, or else from a file made on first use (readable by its owner only), so that
 * `createtoken` keeps printing the same token across runs without the database holding it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The shortest TOKEN_SECRET accepted: 128 bits written as hex. */
const MIN_SECRET_LENGTH = 32;

const cache = new Map<string, string>();

/** The secret: `secret` itself when given (checked), else the content of `file`, which is made when missing. */
export function loadTokenSecret(secret: string | undefined, file: string): string {
  if (secret !== undefined) {
    if (secret.length < MIN_SECRET_LENGTH) throw new Error(`TOKEN_SECRET must have at least ${MIN_SECRET_LENGTH} characters`);
    return secret;
  }
  const resolved = path.resolve(file);
  let cached = cache.get(resolved);
  if (!cached) {
    cached = readOrCreate(resolved);
    cache.set(resolved, cached);
  }
  return cached;
}

function readOrCreate(file: string): string {
  try {
    return readSecret(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Written aside, then linked into place: two processes starting at once both end up with the file
  // that won, never with a half-written one.
  const draft = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(draft, `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  try {
    fs.linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    fs.rmSync(draft, { force: true });
  }
  return readSecret(file);
}

function readSecret(file: string): string {
  const secret = fs.readFileSync(file, 'utf8').trim();
  if (secret.length < MIN_SECRET_LENGTH) throw new Error(`${file}: the token secret must have at least ${MIN_SECRET_LENGTH} characters`);
  return secret;
}
