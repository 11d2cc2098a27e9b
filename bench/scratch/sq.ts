import Database from 'better-sqlite3';
import fs from 'node:fs';
fs.rmSync('/tmp/sq', { recursive: true, force: true }); fs.mkdirSync('/tmp/sq');
const w = new Database('/tmp/sq/a.db'); w.pragma('journal_mode = WAL');
w.exec('create table things (id integer primary key autoincrement, name varchar(64) not null, counter integer not null default 0)');
for (let i = 0; i < 20; i++) w.prepare('insert into things (name) values (?)').run('thing ' + i);
const r = new Database('/tmp/sq/a.db', { readonly: true, fileMustExist: true });
for (const [label, db] of [['rw', w], ['ro', r]] as const) {
  const st = db.prepare('select * from things where id = ?');
  for (let i = 0; i < 20000; i++) st.get(1 + (i % 20));
  const t = process.hrtime.bigint();
  const n = 200000;
  for (let i = 0; i < n; i++) st.get(1 + (i % 20));
  console.log(label, Number(process.hrtime.bigint() - t) / n / 1000, 'µs/get');
}
