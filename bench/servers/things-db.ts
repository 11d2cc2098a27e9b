/**
 * The baselines' database: a fresh SQLite file with the same `things` table and rows the demo app's
 * benchmark server gets, so every baseline does the same lookup on the same data.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

export interface ThingsDb {
  db: Database.Database;
  /** Closes the database and removes its folder. */
  close(): void;
}

/** Opens a new things database (THINGS rows, default 20) in a temporary folder named by `prefix`. */
export function openThingsDb(prefix: string): ThingsDb {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const db = new Database(path.join(dir, 'things.sqlite3'));
  db.pragma('journal_mode = WAL');
  // The gateway's own setting (src/db/knex.ts): in WAL mode a commit is not synced, a checkpoint is.
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE things (id integer PRIMARY KEY AUTOINCREMENT, name varchar(64) NOT NULL, counter integer NOT NULL DEFAULT 0)');
  const insert = db.prepare('INSERT INTO things (name, counter) VALUES (?, 0)');
  for (let i = 1; i <= Number(process.env.THINGS ?? 20); i++) insert.run(`thing ${i}`);
  return {
    db,
    close() {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
