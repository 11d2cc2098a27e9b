/**
 * The demo's token authentication, like DRF's authtoken: one random token per user.
 */
import crypto from 'node:crypto';
import type { Authenticator } from '../server/auth.js';
import type { AuthUser } from '../scope.js';
import { Token, User } from './models.js';

function asUser(row: Record<string, unknown>): AuthUser {
  return { id: row.id, username: row.username as string, email: row.email as string };
}

export class TokenAuthenticator implements Authenticator {
  async authenticate(token: string): Promise<AuthUser | null> {
    if (token.length > 128) return null;
    const row = (await User.knex()('tokens')
      .join('users', 'users.id', 'tokens.user_id')
      .where('tokens.key', token)
      .select('users.id', 'users.username', 'users.email', 'users.is_active', 'tokens.key')
      .first()) as Record<string, unknown> | undefined;
    // The lookup used the key as an index; compare it again in constant time before trusting it.
    if (!row || !constantTimeEqual(String(row.key), token) || !row.is_active) return null;
    return asUser(row);
  }

  async refresh(user: AuthUser): Promise<AuthUser | null> {
    const row = (await User.query().findById(user.id as number)) as unknown as Record<string, unknown> | undefined;
    return row && row.is_active ? asUser(row) : null;
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

/** The token of a user, creating the user (`<username>@example.com`) and the token when missing. */
export async function createToken(username: string): Promise<string> {
  return User.transaction(async (trx) => {
    let user = await User.query(trx).findOne({ username });
    if (!user) user = await User.query(trx).insert({ username, email: `${username}@example.com` });
    const existing = await Token.query(trx).findOne({ user_id: user.id });
    if (existing) return existing.key;
    const key = crypto.randomBytes(20).toString('hex');
    await Token.query(trx).insert({ key, user_id: user.id });
    return key;
  });
}
