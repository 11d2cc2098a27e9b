import Database from 'better-sqlite3';
import fs from 'node:fs';
function bench(label: string, db: Database.Database) {
  const st = db.prepare('select * from things where id = ?');
  for (let i = 0; i < 20000; i++) st.get(1 + (i % 20));
  const t = process.hrtime.bigint();
  const n = 100000;
  for (let i = 0; i < n; i++) st.get(1 + (i % 20));
  console.log(label, (Number(process.hrtime.bigint() - t) / n / 1000).toFixed(2), 'µs/get');
}
for (const mode of ['WAL', 'DELETE']) {
  const dir = `/tmp/sq-${mode}`; fs.rmSync(dir, { recursive: true, force: true }); fs.mkdirSync(dir);
  const w = new Database(`${dir}/a.db`); w.pragma(`journal_mode = ${mode}`);
  w.exec('create table things (id integer primary key autoincrement, name varchar(64) not null, counter integer not null default 0)');
  for (let i = 0; i < 20; i++) w.prepare('insert into things (name) values (?)').run('thing ' + i);
  bench(`${mode} rw`, w);
  const r = new Database(`${dir}/a.db`, { readonly: true });
  bench(`${mode} ro`, r);
  r.pragma('mmap_size = 268435456');
  bench(`${mode} ro mmap`, r);
  const m = new Database(':memory:');
  m.exec('create table things (id integer primary key autoincrement, name varchar(64) not null, counter integer not null default 0)');
  for (let i = 0; i < 20; i++) m.prepare('insert into things (name) values (?)').run('thing ' + i);
  bench('memory', m);
}
