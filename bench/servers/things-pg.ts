/**
 * The raw PostgreSQL baselines' database: the `things` table and rows the demo app's server gets, in
 * a database of its own (made on BENCH_POSTGRES's server and dropped at close), or in the database
 * BENCH_DATABASE_URL names (shared by two processes; the first one, BENCH_SEED unset, makes the table).
 */
import pg from 'pg';
import { createTestDatabase } from '../../test/helpers/postgres.js';

export interface ThingsPg {
  /** A pool sized like the gateway's (10 connections). */
  pool: pg.Pool;
  /** Ends the pool and drops the database if this process made it. */
  close(): Promise<void>;
}

/** Opens (and when asked, creates and seeds) the things database. */
export async function openThingsPg(): Promise<ThingsPg> {
  let url = process.env.BENCH_DATABASE_URL;
  let drop = async () => {};
  if (!url) {
    const database = await createTestDatabase(process.env.BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test');
    url = database.url;
    drop = database.drop;
  }
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle connection ended by the server (the database dropped by another process at the end of a
  // case) is not this server's failure: without a listener it would crash the process with exit noise.
  pool.on('error', () => undefined);
  if (process.env.BENCH_SEED !== '0') {
    await pool.query(
      'CREATE TABLE IF NOT EXISTS things (id serial PRIMARY KEY, name varchar(64) NOT NULL, counter integer NOT NULL DEFAULT 0)',
    );
    await pool.query('INSERT INTO things (name) SELECT $1 || n FROM generate_series(1, $2::int) AS n', [
      'thing ',
      Number(process.env.THINGS ?? 20),
    ]);
  }
  return {
    pool,
    async close() {
      await pool.end();
      await drop();
    },
  };
}
