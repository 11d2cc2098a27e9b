/**
 * A fresh PostgreSQL database per test app, so test files running side by side never see each
 * other's rows: created through an admin connection to the database TEST_DATABASE_URL names (the
 * machine's `test`), dropped when the app closes.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates `dcrf_test_<random>` next to the database `adminUrl` names. */
export async function createTestDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `dcrf_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** A Redis channel prefix no other test app uses. */
export function uniqueRedisPrefix(): string {
  return `dcrf-test-${randomBytes(6).toString('hex')}:`;
}
