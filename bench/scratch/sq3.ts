import Database from 'better-sqlite3';
import fs from 'node:fs';
const dir = `/tmp/sq3`; fs.rmSync(dir, { recursive: true, force: true }); fs.mkdirSync(dir);
const w = new Database(`${dir}/a.db`); w.pragma(`journal_mode = WAL`);
w.exec('create table things (id integer primary key autoincrement, name varchar(64) not null, counter integer not null default 0)');
for (let i = 0; i < 20; i++) w.prepare('insert into things (name) values (?)').run('thing ' + i);
const r = new Database(`${dir}/a.db`, { readonly: true });
const st = r.prepare('select * from things where id = ?');
const begin = r.prepare('BEGIN'), commit = r.prepare('COMMIT');
for (let round = 0; round < 3; round++) {
  for (const batch of [1, 10, 50]) {
    const n = 100000;
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i += batch) {
      if (batch > 1) begin.run();
      for (let j = 0; j < batch; j++) st.get(1 + ((i + j) % 20));
      if (batch > 1) commit.run();
    }
    console.log('batch', batch, (Number(process.hrtime.bigint() - t) / n / 1000).toFixed(2), 'µs/get');
  }
}
