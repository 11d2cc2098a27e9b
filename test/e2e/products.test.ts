/**
 * The `products` stream (docs/demo.md) over real sockets, DCRF and GraphQL: every DRF field type
 * with DRF's representations and messages (DRF 3.15), decimals exact on SQLite and PostgreSQL,
 * datetimes in UTC with `Z`, the nested school in replies and events.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'graphql-ws';
import { reply, startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { execute, graphqlClient, post, subscribeLive } from '../helpers/graphql.js';

let app: TestApp;
let client: Client;
let products: TestSocket;
let schoolId: number;
let nextId = 0;
const rid = () => `r${++nextId}`;

before(async () => {
  app = await startTestApp();
  client = graphqlClient(app);
  products = await TestSocket.open(`${app.wsUrl}/ws/products/`);
  const schools = await TestSocket.open(`${app.wsUrl}/ws/schools/`);
  schoolId = (await schools.request({ action: 'create', data: { name: 'Hill' }, request_id: 1 })).data.id;
  schools.close();
});
after(async () => {
  products.close();
  await client.dispose();
  await app.close();
});

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function create(data: Record<string, unknown>) {
  const requestId = rid();
  return products.request({ action: 'create', data, request_id: requestId });
}

describe('products over DCRF', () => {
  test('create shows every field as DRF does: decimal text, nested school, UTC datetime with Z, write-only school_id', async () => {
    const answer = await create({
      name: ' Book one ',
      slug: 'book-one',
      price: '12.50',
      rating: 4.5,
      kind: 'music',
      tags: ['a', 'b'],
      released: '2024-02-29',
      homepage: 'https://example.com/book',
      school_id: schoolId,
    });
    assert.equal(answer.response_status, 201, JSON.stringify(answer));
    const data = answer.data;
    assert.deepEqual(Object.keys(data), [
      'id',
      'uuid',
      'name',
      'slug',
      'price',
      'rating',
      'kind',
      'tags',
      'released',
      'homepage',
      'school',
      'updated_at',
      'price_with_tax',
    ]);
    assert.match(data.uuid, UUID);
    assert.match(data.updated_at, ISO_UTC);
    assert.deepEqual(
      { ...data, uuid: 'u', updated_at: 't' },
      {
        id: data.id,
        uuid: 'u',
        name: 'Book one',
        slug: 'book-one',
        price: '12.50',
        rating: 4.5,
        kind: 'music',
        tags: ['a', 'b'],
        released: '2024-02-29',
        homepage: 'https://example.com/book',
        school: { id: schoolId, name: 'Hill' },
        updated_at: 't',
        price_with_tax: '15.00',
      },
    );
    const again = await products.request({ action: 'retrieve', pk: data.id, request_id: rid() });
    assert.deepEqual(again.data, data);
  });

  test('defaults: kind "book", tags [], homepage "", released, rating and school null; "12.5" becomes "12.50"', async () => {
    const { data, response_status } = await create({ name: 'Plain', slug: 'plain', price: 12.5 });
    assert.equal(response_status, 201);
    assert.deepEqual(
      {
        price: data.price,
        rating: data.rating,
        kind: data.kind,
        tags: data.tags,
        released: data.released,
        homepage: data.homepage,
        school: data.school,
        tax: data.price_with_tax,
      },
      { price: '12.50', rating: null, kind: 'book', tags: [], released: null, homepage: '', school: null, tax: '15.00' },
    );
  });

  test('decimals stay exact through the database: "999999.99", "0.10", "-0" refused below 0 ... and list shows them', async () => {
    const big = await create({ name: 'Big', slug: 'big', price: '999999.99' });
    assert.equal(big.data.price, '999999.99');
    assert.equal(big.data.price_with_tax, '1199999.99');
    const dime = await create({ name: 'Dime', slug: 'dime', price: '0.1' });
    assert.equal(dime.data.price, '0.10');
    assert.equal(dime.data.price_with_tax, '0.12');
    const list = await products.request({ action: 'list', request_id: rid() });
    const prices = Object.fromEntries(list.data.map((row: { slug: string; price: string }) => [row.slug, row.price]));
    assert.equal(prices.big, '999999.99');
    assert.equal(prices.dime, '0.10');
  });

  test("invalid values get DRF's messages, field by field", async () => {
    const answer = await create({
      name: '',
      slug: 'not a slug',
      price: '1.234',
      rating: 'x',
      kind: 'x',
      tags: 'nope',
      released: '2024-13-01',
      homepage: 'not a url',
      school_id: 999999,
    });
    assert.equal(answer.response_status, 400);
    assert.deepEqual(answer.errors, [
      {
        name: ['This field may not be blank.'],
        slug: ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'],
        price: ['Ensure that there are no more than 2 decimal places.'],
        rating: ['A valid number is required.'],
        kind: ['"x" is not a valid choice.'],
        tags: ['Expected a list of items but got type "str".'],
        released: ['Date has wrong format. Use one of these formats instead: YYYY-MM-DD.'],
        homepage: ['Enter a valid URL.'],
        school_id: ['Invalid pk "999999" - object does not exist.'],
      },
    ]);
    const more = await create({ name: 'x'.repeat(81), slug: 'more', price: 'abc', rating: 6, tags: ['ok', 5, null], school_id: 'a' });
    assert.deepEqual(more.errors, [
      {
        name: ['Ensure this field has no more than 80 characters.'],
        price: ['A valid number is required.'],
        rating: ['Ensure this value is less than or equal to 5.'],
        tags: { 2: ['This field may not be null.'] },
        school_id: ['Incorrect type. Expected pk value, received str.'],
      },
    ]);
    const digits = await create({ name: 'n', slug: 'digits', price: '1234567.8', released: null, kind: null });
    assert.deepEqual(digits.errors, [
      {
        price: ['Ensure that there are no more than 6 digits before the decimal point.'],
        kind: ['This field may not be null.'],
      },
    ]);
    assert.deepEqual((await create({ name: 'n', slug: 'neg', price: '-0.01' })).errors, [
      { price: ['Ensure this value is greater than or equal to 0.'] },
    ]);
    assert.deepEqual((await create({})).errors, [
      { name: ['This field is required.'], slug: ['This field is required.'], price: ['This field is required.'] },
    ]);
  });

  test('a taken slug: "product with this slug already exists."; read-only fields are ignored', async () => {
    await create({ name: 'First', slug: 'taken', price: '1.00' });
    const second = await create({
      name: 'Second',
      slug: 'taken',
      price: '1.00',
      uuid: '00000000-0000-0000-0000-000000000000',
      updated_at: '2000-01-01T00:00:00Z',
    });
    assert.deepEqual(second.errors, [{ slug: ['product with this slug already exists.'] }]);
    const third = await create({
      name: 'Third',
      slug: 'third',
      price: '1.00',
      uuid: '00000000-0000-0000-0000-000000000000',
      updated_at: '2000-01-01T00:00:00Z',
    });
    assert.notEqual(third.data.uuid, '00000000-0000-0000-0000-000000000000');
    assert.notEqual(third.data.updated_at, '2000-01-01T00:00:00Z');
  });

  test('patch and update: partial keeps the rest, school_id null clears the school, updated_at moves on', async () => {
    const { data } = await create({ name: 'Patchy', slug: 'patchy', price: '3.00', school_id: schoolId, tags: ['x'] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const patched = await products.request({ action: 'patch', pk: data.id, data: { price: '4', school_id: null }, request_id: rid() });
    assert.equal(patched.response_status, 200);
    assert.equal(patched.data.price, '4.00');
    assert.equal(patched.data.school, null);
    assert.deepEqual(patched.data.tags, ['x']);
    assert.ok(patched.data.updated_at > data.updated_at, `${patched.data.updated_at} after ${data.updated_at}`);
    const full = await products.request({
      action: 'update',
      pk: data.id,
      data: { name: 'Full', slug: 'patchy', price: '5.5' },
      request_id: rid(),
    });
    assert.equal(full.response_status, 200, JSON.stringify(full));
    assert.deepEqual([full.data.name, full.data.price, full.data.tags, full.data.uuid], ['Full', '5.50', ['x'], data.uuid]);
    const missing = await products.request({ action: 'update', pk: data.id, data: { name: 'Full' }, request_id: rid() });
    assert.deepEqual(missing.errors, [{ slug: ['This field is required.'], price: ['This field is required.'] }]);
  });

  test('subscribe_many and subscribe_instance: events carry the nested school and the decimal text; a delete its last state', async () => {
    const watcher = await TestSocket.open(`${app.wsUrl}/ws/products/`);
    assert.deepEqual(await watcher.request({ action: 'subscribe_many', request_id: 'many' }), reply('subscribe_many', null, 201, 'many'));
    const { data } = await create({ name: 'Live', slug: 'live', price: '7.25', school_id: schoolId });
    const created = await watcher.next();
    assert.deepEqual(created, reply('create', data, 200, 'many'));
    assert.deepEqual(created.data.school, { id: schoolId, name: 'Hill' });
    assert.deepEqual(
      await watcher.request({ action: 'subscribe_instance', pk: data.id, request_id: 'one' }),
      reply('subscribe_instance', null, 201, 'one'),
    );
    const patched = await products.request({ action: 'patch', pk: data.id, data: { price: '8.1' }, request_id: rid() });
    const updates = [await watcher.next(), await watcher.next()].sort((a, b) => String(a.request_id).localeCompare(String(b.request_id)));
    assert.deepEqual(updates, [reply('update', patched.data, 200, 'many'), reply('update', patched.data, 200, 'one')]);
    assert.equal(updates[0].data.price, '8.10');
    await products.request({ action: 'delete', pk: data.id, request_id: rid() });
    const deletes = [await watcher.next(), await watcher.next()].sort((a, b) => String(a.request_id).localeCompare(String(b.request_id)));
    assert.deepEqual(deletes, [reply('delete', patched.data, 204, 'many'), reply('delete', { pk: data.id }, 204, 'one')]);
    watcher.close();
  });
});

const PRODUCT_FIELDS = 'id uuid name slug price rating kind tags released homepage school { id name } updatedAt priceWithTax';

describe('products over GraphQL', () => {
  test('createProduct and product: the scalars show what the DCRF stream shows', async () => {
    const result = await execute(client, `mutation($input: ProductInput!) { createProduct(input: $input) { ${PRODUCT_FIELDS} } }`, {
      input: {
        name: 'GQL',
        slug: 'gql',
        price: '19.90',
        rating: 3,
        kind: 'video',
        tags: ['t'],
        released: '2023-01-31',
        homepage: 'http://example.org',
        schoolId: String(schoolId),
      },
    });
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const made = result.data.createProduct;
    assert.match(made.updatedAt, ISO_UTC);
    assert.match(made.uuid, UUID);
    const dcrf = (await products.request({ action: 'retrieve', pk: Number(made.id), request_id: rid() })).data;
    assert.deepEqual(
      { ...made, id: Number(made.id) },
      {
        id: dcrf.id,
        uuid: dcrf.uuid,
        name: 'GQL',
        slug: 'gql',
        price: '19.90',
        rating: 3,
        kind: 'video',
        tags: ['t'],
        released: '2023-01-31',
        homepage: 'http://example.org',
        school: { id: String(schoolId), name: 'Hill' },
        updatedAt: dcrf.updated_at,
        priceWithTax: '23.88',
      },
    );
    const read = await post(app, `query($id: ID!) { product(id: $id) { price priceWithTax updatedAt } }`, { id: made.id });
    assert.deepEqual(read.body.data.product, { price: '19.90', priceWithTax: '23.88', updatedAt: dcrf.updated_at });
    // A decimal literal is read as its text: no float on the way.
    const literal = await post(app, 'mutation { createProduct(input: {name: "Lit", slug: "lit", price: 0.30}) { price } }');
    assert.deepEqual(literal.body.data, { createProduct: { price: '0.30' } });
  });

  test("invalid values: BAD_USER_INPUT with DRF's messages in extensions.fields, under the GraphQL names", async () => {
    const result = await post(app, `mutation($input: ProductInput!) { createProduct(input: $input) { id } }`, {
      input: { name: 'Bad', slug: 'gql', price: '1.999', kind: 'x', released: 'yesterday', homepage: 'nope', schoolId: '999999' },
    });
    const error = result.body.errors[0];
    assert.equal(error.extensions.code, 'BAD_USER_INPUT');
    assert.deepEqual(error.extensions.fields, {
      slug: ['product with this slug already exists.'],
      price: ['Ensure that there are no more than 2 decimal places.'],
      kind: ['"x" is not a valid choice.'],
      released: ['Date has wrong format. Use one of these formats instead: YYYY-MM-DD.'],
      homepage: ['Enter a valid URL.'],
      schoolId: ['Invalid pk "999999" - object does not exist.'],
    });
  });

  test('productActivity and productChanged: a DCRF write reaches GraphQL subscribers with the nested school', async () => {
    const activity = await subscribeLive(client, `subscription { productActivity { action data { ${PRODUCT_FIELDS} } } }`);
    const { data } = await create({ name: 'Evt', slug: 'evt', price: '2.50', school_id: schoolId });
    const event = await activity.next();
    assert.equal(event.data.productActivity.action, 'CREATE');
    assert.deepEqual(event.data.productActivity.data.school, { id: String(schoolId), name: 'Hill' });
    assert.equal(event.data.productActivity.data.price, '2.50');
    assert.equal(event.data.productActivity.data.updatedAt, data.updated_at);
    const changed = await subscribeLive(
      client,
      `subscription($id: ID!) { productChanged(id: $id) { action data { price priceWithTax } } }`,
      { id: String(data.id) },
    );
    const patched = await execute(client, 'mutation($id: ID!) { patchProduct(id: $id, input: {price: "3"}) { price } }', {
      id: String(data.id),
    });
    assert.deepEqual(patched.data, { patchProduct: { price: '3.00' } });
    assert.deepEqual((await changed.next()).data.productChanged, { action: 'UPDATE', data: { price: '3.00', priceWithTax: '3.60' } });
    assert.equal((await activity.next()).data.productActivity.action, 'UPDATE');
    assert.deepEqual((await execute(client, 'mutation($id: ID!) { deleteProduct(id: $id) }', { id: String(data.id) })).data, {
      deleteProduct: String(data.id),
    });
    assert.equal((await activity.next()).data.productActivity.action, 'DELETE');
    activity.dispose();
    changed.dispose();
  });
});
