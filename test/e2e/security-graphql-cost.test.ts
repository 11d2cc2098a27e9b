/**
 * GraphQL cost of nested lists: a list costs as many items as it can really return (its `limit`
 * capped by its maximum), list fields take `limit`/`offset`, and nested fields are loaded with one
 * query per level instead of one per parent. Over HTTP, graphql-transport-ws and legacy graphql-ws.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { GRAPHQL_PROTOCOLS, type GraphQLAnswer, operate } from '../helpers/graphql-protocols.js';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

function codes(answer: { errors: Array<{ extensions?: { code?: string } }> }): Array<string | undefined> {
  return answer.errors.map((error) => error.extensions?.code);
}

async function createSchool(name: string, classrooms: number): Promise<{ id: string; classrooms: string[] }> {
  const school = (await operate(app, 'http', 'mutation($n: String!) { createSchool(input: {name: $n}) { id } }', { n: name })).data
    .createSchool.id;
  const ids: string[] = [];
  for (let index = 0; index < classrooms; index++) {
    const created = await operate(app, 'http', 'mutation($n: String!, $s: ID!) { createClassroom(input: {name: $n, school: $s}) { id } }', {
      n: `${name}-${index}`,
      s: school,
    });
    ids.push(created.data.createClassroom.id);
  }
  return { id: school, classrooms: ids };
}

test('nested lists are costed by the items they can return, and refused before any resolver runs', async () => {
  // The review's 243-byte query: 62,504 objects and a second of a held loop before; now refused.
  const attack = '{ schools { classrooms { school { classrooms { school { classrooms { id name school { id name } } } } } } } }';
  for (const protocol of GRAPHQL_PROTOCOLS) {
    const answer = await operate(app, protocol, attack);
    assert.deepEqual(codes(answer), ['QUERY_TOO_COMPLEX'], protocol);
    assert.match(answer.errors[0]!.message, /costs more than 5000 \(each list counts as many items as it may return/);
    assert.equal(answer.data, undefined);
  }
  // Two levels of unbounded lists: 100 schools x 1000 classrooms.
  assert.deepEqual(codes(await operate(app, 'http', '{ schools { classrooms { id } } }')), ['QUERY_TOO_COMPLEX']);
  // A variable limit counts as the maximum (the check runs once per document, before variables).
  const variable = await operate(app, 'http', 'query($n: Int) { schools { classrooms(limit: $n) { id } } }', { n: 1 });
  assert.deepEqual(codes(variable), ['QUERY_TOO_COMPLEX']);
  // With small literal limits the same shape is cheap, and answered.
  const paged = await operate(
    app,
    'graphql-transport-ws',
    '{ schools(limit: 3) { classrooms(limit: 3) { school { classrooms(limit: 3) { id } } } } }',
  );
  assert.deepEqual(paged.errors, []);
  assert.ok(Array.isArray(paged.data.schools));
  // A page's `results` count as the page's size: 100 by default, `limit` when given.
  assert.deepEqual(codes(await operate(app, 'http', '{ tests { count results { id name } } a: things { id name counter } }')), []);
  assert.deepEqual(codes(await operate(app, 'http', '{ tests(limit: 1000) { results { id name } } things { id name counter } }')), [
    'QUERY_TOO_COMPLEX',
  ]);
});

test('list fields take limit and offset, limit capped at the maximum', async () => {
  const school = await createSchool('paged', 4);
  for (const protocol of GRAPHQL_PROTOCOLS) {
    const answer = await operate(app, protocol, 'query($s: ID!) { school(id: $s) { classrooms(limit: 2, offset: 1) { id } } }', {
      s: school.id,
    });
    assert.deepEqual(
      answer,
      { errors: [], data: { school: { classrooms: school.classrooms.slice(1, 3).map((id) => ({ id })) } } },
      protocol,
    );
  }
  const all = await operate(app, 'http', 'query($s: ID!) { school(id: $s) { classrooms { id } } }', { s: school.id });
  assert.deepEqual(
    all.data.school.classrooms,
    school.classrooms.map((id) => ({ id })),
  );
  // 1001 things: `things` answers at most 1000, whatever the limit asked for.
  await app.knex.batchInsert(
    'things',
    Array.from({ length: 1001 }, (_, index) => ({ name: `bulk-${index}`, counter: 0 })),
    500,
  );
  const capped = await operate(app, 'http', '{ things(limit: 5000) { id } }');
  assert.deepEqual(capped.errors, []);
  assert.equal(capped.data.things.length, 1000);
  assert.equal((await operate(app, 'http', '{ things { id } }')).data.things.length, 1000);
  const window = await operate(app, 'http', '{ things(limit: 2, offset: 1) { id } all: things(limit: 3) { id } }');
  assert.deepEqual(window.data.things, window.data.all.slice(1, 3));
  assert.equal((await operate(app, 'http', '{ schools(limit: 1) { id } }')).data.schools.length, 1);
});

test('nested fields are loaded with one query per level, each parent getting its own page', async () => {
  const schools = [];
  for (let index = 0; index < 6; index++) schools.push(await createSchool(`batched-${index}`, 3));
  const ids = new Set(schools.map((school) => school.id));
  const statements: string[] = [];
  const listen = (query: { sql: string }) => statements.push(query.sql);
  app.knex.on('query', listen);
  let answer: GraphQLAnswer;
  try {
    answer = await operate(app, 'http', '{ schools(limit: 100) { id classrooms(limit: 2, offset: 1) { id name school { id name } } } }');
  } finally {
    app.knex.off('query', listen);
  }
  assert.deepEqual(answer.errors, []);
  // One statement for the schools, one for every school's classrooms, one for the classrooms' schools
  // (before: one per school and one per classroom).
  assert.deepEqual(statements.filter((sql) => /^select/i.test(sql.trim())).length, 3, statements.join('\n'));
  for (const school of answer.data.schools.filter((row: { id: string }) => ids.has(row.id))) {
    const expected = schools.find((created) => created.id === school.id)!.classrooms.slice(1, 3);
    assert.deepEqual(
      school.classrooms.map((classroom: { id: string }) => classroom.id),
      expected,
    );
    for (const classroom of school.classrooms) assert.equal(classroom.school.id, school.id);
  }
});
