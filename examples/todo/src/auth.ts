/**
 * Token authentication: a token is 32 random bytes, the database keeps its SHA-256 only. `createToken`
 * (what `dcrf-gateway createtoken <username> --app dist/app.js` calls) creates the user when missing
 * and gives them a new token.
 */
import crypto from 'node:crypto';
import type { AuthUser, TokenIssuer } from 'dcrf-gateway';
import { User } from './models.js';

function hash(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

export const authenticator: TokenIssuer = {
  async authenticate(token: string): Promise<AuthUser | null> {
    const user = await User.query().findOne({ token_hash: hash(token) });
    return user ? { id: user.id, username: user.username } : null;
  },

  async refresh(user: AuthUser): Promise<AuthUser | null> {
    const row = await User.query().findById(user.id as number);
    return row ? { id: row.id, username: row.username } : null;
  },

  async createToken(username: string): Promise<string> {
    const token = crypto.randomBytes(32).toString('hex');
    const existing = await User.query().findOne({ username });
    if (existing)
      await User.query()
        .patch({ token_hash: hash(token) })
        .where({ id: existing.id });
    else await User.query().insert({ username, token_hash: hash(token) });
    return token;
  },
};
