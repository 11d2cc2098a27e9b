/**
 * The demo's token authentication, like DRF's authtoken: one token per user.
 *
 * The database keeps no token, only its SHA-256, which is also the lookup key: what a database reader
 * gets (a leaked backup, an injection elsewhere) authenticates nobody. A fast hash is enough, no slow
 * KDF: a token is 256 bits of HMAC output, not a password, so there is nothing to guess against it.
 *
 * `createtoken` must print the same token on a second call (docs/demo.md) without the database holding
 * it: a token is HMAC-SHA256(secret, "<user id>:<salt>"), the salt random per token and stored, the
 * secret outside the database (TOKEN_SECRET, or a file: token-secret.ts). Re-deriving a token needs
 * both; either alone gives nothing. Deleting a user's token row revokes it; the next `createtoken`
 * draws a new salt, so a new token.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Authenticator } from '../auth/authenticator.js';
import type { AuthUser } from '../scope.js';
import { User } from './models.js';
import { loadTokenSecret } from './token-secret.js';
import { DEFAULT_TOKEN_SECRET_FILE } from '../config.js';

function asUser(row: Record<string, unknown>): AuthUser {
  return { id: row.id, username: row.username as string, email: row.email as string };
}

/** The stored form of a token: its SHA-256, hex (64 characters, the `tokens.key` column). */
export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/** The token of a user id and salt under a secret (hex, 64 characters). */
export function deriveToken(secret: string, userId: unknown, salt: string): string {
  return crypto
    .createHmac('sha256', secret)
    .update(`${String(userId)}:${salt}`)
    .digest('hex');
}

export class TokenAuthenticator implements Authenticator {
  /** `knex`: the app's database (default the one the models are bound to). */
  constructor(private readonly knex?: Knex) {}

  async authenticate(token: string): Promise<AuthUser | null> {
    if (token.length > 128) return null;
    const key = hashToken(token);
    const row = (await (this.knex ?? User.knex())('tokens')
      .join('users', 'users.id', 'tokens.user_id')
      .where('tokens.key', key)
      .select('users.id', 'users.username', 'users.email', 'users.is_active', 'tokens.key')
      .first()) as Record<string, unknown> | undefined;
    // The lookup used the hash as an index; compare it again in constant time before trusting it.
    if (!row || !constantTimeEqual(String(row.key), key) || !row.is_active) return null;
    return asUser(row);
  }

  async refresh(user: AuthUser): Promise<AuthUser | null> {
    const row = (await User.query(this.knex).findById(user.id as number)) as unknown as Record<string, unknown> | undefined;
    return row?.is_active ? asUser(row) : null;
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

/** What `issueToken` did: the token, and whether it replaced one it could not show again. */
export interface IssuedToken {
  token: string;
  /** True when the user had a token this secret cannot re-derive (stored before hashing, or another secret): it was revoked. */
  replaced: boolean;
}

/**
 * The token of a user, creating the user (`<username>@example.com`) and the token when missing. The
 * same token on every call as long as the secret stays the same.
 */
export async function issueToken(username: string, secret: string = defaultSecret()): Promise<IssuedToken> {
  return User.transaction(async (trx) => {
    let user = await User.query(trx).findOne({ username });
    if (!user) user = await User.query(trx).insert({ username, email: `${username}@example.com` });
    const row = (await trx('tokens').where({ user_id: user.id }).first()) as { key: string; salt: string | null } | undefined;
    if (row?.salt) {
      const token = deriveToken(secret, user.id, row.salt);
      if (constantTimeEqual(hashToken(token), row.key)) return { token, replaced: false };
    }
    if (row) await trx('tokens').where({ user_id: user.id }).delete();
    const salt = crypto.randomBytes(16).toString('hex');
    const token = deriveToken(secret, user.id, salt);
    await trx('tokens').insert({ key: hashToken(token), user_id: user.id, salt });
    return { token, replaced: row !== undefined };
  });
}

/** The token of a user (see `issueToken`). */
export async function createToken(username: string, secret?: string): Promise<string> {
  return (await issueToken(username, secret)).token;
}

/** The secret from the environment (TOKEN_SECRET, TOKEN_SECRET_FILE), as the CLI would read it. */
function defaultSecret(): string {
  return loadTokenSecret(process.env.TOKEN_SECRET || undefined, process.env.TOKEN_SECRET_FILE || DEFAULT_TOKEN_SECRET_FILE);
}
