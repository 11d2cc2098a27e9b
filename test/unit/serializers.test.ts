import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharField, IntegerField, BooleanField, EmailField } from '../../src/serializers/fields.js';
import { Serializer } from '../../src/serializers/serializer.js';
import { ValidationError } from '../../src/errors.js';

class BookSerializer extends Serializer {
  static override fields = {
    pk: new IntegerField({ source: 'id', readOnly: true }),
    title: new CharField({ maxLength: 5 }),
    pages: new IntegerField({ default: 0, minValue: 0 }),
    public: new BooleanField({ required: false }),
    email: new EmailField({ required: false, allowBlank: true }),
  };
}

const serializer = new BookSerializer();

async function fieldErrors(data: unknown, partial = false): Promise<unknown> {
  try {
    await serializer.runValidation(data, { partial });
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    return error.fields;
  }
  assert.fail('expected a ValidationError');
}

test('toRepresentation renames sources and keeps declaration order', () => {
  const out = serializer.toRepresentation({ id: 3, title: 'abc', pages: 9, public: 1, email: '' });
  assert.deepEqual(Object.keys(out), ['pk', 'title', 'pages', 'public', 'email']);
  assert.deepEqual(out, { pk: 3, title: 'abc', pages: 9, public: true, email: '' });
});

test('DRF messages for required, blank, too long, wrong type', async () => {
  assert.deepEqual(await fieldErrors({}), { title: ['This field is required.'] });
  assert.deepEqual(await fieldErrors({ title: '   ' }), { title: ['This field may not be blank.'] });
  assert.deepEqual(await fieldErrors({ title: 'toolong', pages: 'x' }), {
    title: ['Ensure this field has no more than 5 characters.'],
    pages: ['A valid integer is required.'],
  });
  assert.deepEqual(await fieldErrors({ title: 'ok', pages: -1 }), { pages: ['Ensure this value is greater than or equal to 0.'] });
  assert.deepEqual(await fieldErrors({ title: null }), { title: ['This field may not be null.'] });
  assert.deepEqual(await fieldErrors({ title: 'ok', email: 'nope' }), { email: ['Enter a valid email address.'] });
});

test('non-object data gets non_field_errors in DRF words', async () => {
  assert.deepEqual(await fieldErrors(null), { non_field_errors: ['No data provided'] });
  assert.deepEqual(await fieldErrors(undefined), { non_field_errors: ['No data provided'] });
  assert.deepEqual(await fieldErrors('str'), { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] });
  assert.deepEqual(await fieldErrors([1]), { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] });
  assert.deepEqual(await fieldErrors(5), { non_field_errors: ['Invalid data. Expected a dictionary, but got int.'] });
});

test('valid input: defaults on create, absent fields skipped on partial, read-only ignored, strings coerced', async () => {
  assert.deepEqual(await serializer.runValidation({ title: ' ab ', pk: 99 }), { title: 'ab', pages: 0 });
  assert.deepEqual(await serializer.runValidation({ pages: '7' }, { partial: true }), { pages: 7 });
  assert.deepEqual(await serializer.runValidation({ title: 'x', public: 'false' }), { title: 'x', pages: 0, public: false });
});

test('integers: floats with a fraction, booleans and unsafe numbers are refused', async () => {
  for (const bad of [1.5, true, '1e3', 2 ** 60, '']) {
    assert.deepEqual(await fieldErrors({ pages: bad }, true), { pages: ['A valid integer is required.'] }, String(bad));
  }
  assert.deepEqual(await serializer.runValidation({ pages: '5.0' }, { partial: true }), { pages: 5 });
});

test('prototype keys in input are ignored, not written', async () => {
  const data = JSON.parse('{"title":"ok","__proto__":{"polluted":1},"constructor":{"x":1}}');
  const values = await serializer.runValidation(data);
  assert.deepEqual(values, { title: 'ok', pages: 0 });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
