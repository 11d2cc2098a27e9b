/**
 * Choice, composite and other fields, nested serializers, validators and hooks, against DRF 3.15.2
 * (rest_framework/fields.py, serializers.py, validators.py): representation, accepted inputs and every
 * message as DRF words it; the unique validators on an in-memory SQLite database.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import knexFactory, { type Knex } from 'knex';
import { Model } from 'objection';
import {
  BooleanField,
  CharField,
  ChoiceField,
  CurrentUserDefault,
  DictField,
  HiddenField,
  IntegerField,
  JSONField,
  ListField,
  MultipleChoiceField,
  ReadOnlyField,
  SerializerMethodField,
  UniqueTogetherValidator,
  UniqueValidator,
  UUIDField,
} from '../../src/serializers/fields.js';
import { ValidationError } from '../../src/errors.js';
import type { Infer, InferInput } from '../../src/serializers/infer.js';
import { modelSerializer } from '../../src/serializers/model-serializer.js';
import { Serializer, type Row } from '../../src/serializers/serializer.js';
import type { ConnectionScope } from '../../src/scope.js';
import { fieldErrors, refusal } from '../helpers/fields.js';

test("ChoiceField: matched on Python text, DRF's message; blank when allowed", () => {
  const kind = new ChoiceField({ choices: ['book', 'music'] });
  assert.equal(kind.runValidation('book'), 'book');
  assert.deepEqual(refusal(kind, 'x'), ['"x" is not a valid choice.']);
  assert.deepEqual(refusal(kind, true), ['"True" is not a valid choice.']);
  assert.deepEqual(refusal(kind, ''), ['"" is not a valid choice.']);
  assert.equal(new ChoiceField({ choices: ['a'], allowBlank: true }).runValidation(''), '');
  const numbers = new ChoiceField({
    choices: [
      [1, 'One'],
      ['Group', [[2, 'Two']]],
    ],
  });
  assert.equal(numbers.runValidation('2'), 2, 'text input picks the typed choice');
  assert.equal(numbers.toRepresentation('1'), 1);
  assert.equal(new ChoiceField({ choices: { s: 'Small' } }).runValidation('s'), 's');
});

test("MultipleChoiceField: a list of choices, each once; DRF's messages", () => {
  const tags = new MultipleChoiceField({ choices: ['a', 'b'], allowEmpty: false });
  assert.deepEqual(tags.runValidation(['a', 'b', 'a']), ['a', 'b']);
  assert.deepEqual(refusal(tags, 'a'), ['Expected a list of items but got type "str".']);
  assert.deepEqual(refusal(tags, []), ['This selection may not be empty.']);
  assert.deepEqual(refusal(tags, ['c']), ['"c" is not a valid choice.']);
  assert.deepEqual(tags.toRepresentation('["b","a","b"]'), ['b', 'a']);
});

test("ListField with a child: item errors keyed by index, DRF's list messages; JSON text from the database is read", () => {
  const tags = new ListField({ child: new CharField({ maxLength: 3 }), minLength: 1, maxLength: 2 });
  assert.deepEqual(tags.runValidation([' ab ', 7]), ['ab', '7']);
  assert.deepEqual(refusal(tags, 'nope'), ['Expected a list of items but got type "str".']);
  assert.deepEqual(refusal(tags, { a: 1 }), ['Expected a list of items but got type "dict".']);
  assert.deepEqual(refusal(tags, ['ok', 'toolong', null]), {
    1: ['Ensure this field has no more than 3 characters.'],
    2: ['This field may not be null.'],
  });
  assert.deepEqual(refusal(tags, []), ['Ensure this field has at least 1 elements.']);
  assert.deepEqual(refusal(tags, ['a', 'b', 'c']), ['Ensure this field has no more than 2 elements.']);
  assert.deepEqual(refusal(new ListField({ allowEmpty: false }), []), ['This list may not be empty.']);
  assert.deepEqual(tags.toRepresentation('["x","y"]'), ['x', 'y']);
  assert.deepEqual(new ListField({ child: new IntegerField() }).runValidation(['1', 2]), [1, 2]);
});

test("DictField and JSONField: DRF's messages; JSON text decoded for output", () => {
  const scores = new DictField({ child: new IntegerField() });
  assert.deepEqual(scores.runValidation({ a: '1' }), { a: 1 });
  assert.deepEqual(refusal(scores, [1]), ['Expected a dictionary of items but got type "list".']);
  assert.deepEqual(refusal(scores, { a: 'x' }), { a: ['A valid integer is required.'] });
  assert.deepEqual(refusal(new DictField({ allowEmpty: false }), {}), ['This dictionary may not be empty.']);
  const json = new JSONField();
  assert.deepEqual(json.runValidation({ a: [1, null] }), { a: [1, null] });
  assert.deepEqual(json.toRepresentation('{"a":1}'), { a: 1 });
  const binary = new JSONField({ binary: true });
  assert.deepEqual(binary.runValidation('[1]'), [1]);
  assert.deepEqual(refusal(binary, '{nope'), ['Value must be valid JSON.']);
});

test("BooleanField and UUIDField: DRF's accepted spellings and messages", () => {
  const flag = new BooleanField();
  for (const yes of [true, 1, 'true', 'TRUE', 'Yes', 'on', 't', 'Y', '1']) assert.equal(flag.runValidation(yes), true, String(yes));
  for (const no of [false, 0, 'false', 'No', 'OFF', 'f', 'n', '0']) assert.equal(flag.runValidation(no), false, String(no));
  assert.deepEqual(refusal(flag, 'maybe'), ['Must be a valid boolean.']);
  assert.equal(new BooleanField({ allowNull: true }).runValidation('null'), null);
  assert.equal(flag.toRepresentation(1), true);
  const id = new UUIDField();
  assert.equal(id.runValidation('{5CE0E9A5-5FFA-654B-CEE0-1238041FB31A}'), '5ce0e9a5-5ffa-654b-cee0-1238041fb31a');
  assert.equal(id.runValidation('urn:uuid:5ce0e9a55ffa654bcee01238041fb31a'), '5ce0e9a5-5ffa-654b-cee0-1238041fb31a');
  assert.deepEqual(refusal(id, 'nope'), ['Must be a valid UUID.']);
  assert.deepEqual(refusal(id, true), ['Must be a valid UUID.']);
  assert.equal(
    new UUIDField({ format: 'hex' }).toRepresentation('5CE0E9A5-5FFA-654B-CEE0-1238041FB31A'),
    '5ce0e9a55ffa654bcee01238041fb31a',
  );
  assert.equal(
    new UUIDField({ format: 'urn' }).toRepresentation('5ce0e9a5-5ffa-654b-cee0-1238041fb31a'),
    'urn:uuid:5ce0e9a5-5ffa-654b-cee0-1238041fb31a',
  );
});

class School extends Serializer {
  static override fields = { id: new IntegerField({ readOnly: true }), name: new CharField({ maxLength: 5 }) };
}

class Pupil extends Serializer {
  static override fields = {
    id: new ReadOnlyField(),
    name: new CharField(),
    school: School.field({ readOnly: true }),
    school_name: new ReadOnlyField({ source: 'school.name' }),
    friends: School.field({ many: true, required: false }),
    owner: new HiddenField({ default: new CurrentUserDefault() }),
    secret: new CharField({ writeOnly: true, required: false }),
    shout: new SerializerMethodField<string>(),
  };

  get_shout(row: Row): string {
    return String(row.name).toUpperCase();
  }

  validate_name(value: unknown): unknown {
    if (value === 'root') throw new ValidationError('Reserved name.');
    return String(value).toLowerCase();
  }

  override validate(values: Row): Row {
    if (values.name === 'nobody') throw new ValidationError('Nobody is not allowed.');
    return values;
  }
}

const alice = { user: { id: 7, username: 'alice' } } as unknown as ConnectionScope;

test('nested serializers, dotted sources, write-only, hidden and method fields', async () => {
  const pupil = new Pupil();
  const row = { id: 1, name: 'Ann', school: { id: 2, name: 'Hill' }, secret: 's', owner: 7 };
  assert.deepEqual(pupil.toRepresentation(row), {
    id: 1,
    name: 'Ann',
    school: { id: 2, name: 'Hill' },
    school_name: 'Hill',
    friends: null,
    shout: 'ANN',
  });
  assert.deepEqual(pupil.toRepresentation({ ...row, school: null }).school, null);
  assert.deepEqual(pupil.toRepresentation({ ...row, friends: [{ id: 3, name: 'Dale' }] }).friends, [{ id: 3, name: 'Dale' }]);
  assert.deepEqual(await pupil.runValidation({ name: 'Bob', owner: 99, school: { id: 1 } }, { scope: alice }), { name: 'bob', owner: 7 });
  assert.deepEqual(await pupil.runValidation({ name: 'Bob' }, { scope: alice, partial: true }), { name: 'bob' });
  assert.deepEqual(await pupil.runValidation({ name: 'Bob', friends: [{ name: 'Ann' }] }, { scope: alice }), {
    name: 'bob',
    owner: 7,
    friends: [{ name: 'Ann' }],
  });
  assert.deepEqual(await fieldErrors(pupil, { name: 'Bob', friends: [{ name: 'Ann' }, { name: 'toolong' }, 'x'] }), {
    friends: [
      {},
      { name: ['Ensure this field has no more than 5 characters.'] },
      { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] },
    ],
  });
  assert.deepEqual(await fieldErrors(pupil, { name: 'Bob', friends: {} }), {
    friends: { non_field_errors: ['Expected a list of items but got type "dict".'] },
  });
});

test("validate_<field>() errors are the field's, validate() errors are non_field_errors", async () => {
  const pupil = new Pupil();
  assert.deepEqual(await fieldErrors(pupil, { name: 'root' }), { name: ['Reserved name.'] });
  assert.deepEqual(await fieldErrors(pupil, { name: 'nobody' }), { non_field_errors: ['Nobody is not allowed.'] });
  assert.deepEqual(await fieldErrors(pupil, null), { non_field_errors: ['No data provided'] });
  assert.deepEqual(await fieldErrors(pupil, [1]), { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] });
});

test('Infer and InferInput: the types a declaration gives', () => {
  const shown: Infer<typeof Pupil> = { id: 1, name: 'a', school: { id: 1, name: 'b' }, school_name: 'b', friends: [], shout: 'A' };
  const sent: InferInput<typeof Pupil> = { name: 'a' };
  // @ts-expect-error a write-only field is not shown
  shown.secret;
  assert.ok(shown && sent);
});

class Book extends Model {
  static override tableName = 'books';
  static override jsonSchema = {
    type: 'object',
    required: ['title', 'shelf'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      title: { type: 'string', maxLength: 20 },
      shelf: { type: 'integer' },
      genre: { type: 'string', enum: ['novel', 'essay'], default: 'novel' },
      published: { type: ['string', 'null'], format: 'date' },
      tags: { type: 'array', items: { type: 'string' }, default: [] },
    },
  };
  static columns = { title: { unique: true } };
}

let knex: Knex;
before(async () => {
  knex = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
  await knex.schema.createTable('books', (t) => {
    t.string('id').primary();
    t.string('title');
    t.integer('shelf');
    t.string('genre');
  });
  await knex('books').insert([{ id: 'a', title: 'Taken', shelf: 1, genre: 'novel' }]);
});
after(() => knex.destroy());

test("UniqueValidator and UniqueTogetherValidator: DRF's messages; the row being updated is not a conflict", async () => {
  class Shelved extends Serializer {
    static override fields = {
      title: new CharField({ validators: [new UniqueValidator({ queryset: Book })] }),
      shelf: new IntegerField(),
    };
    static override validators = [new UniqueTogetherValidator({ queryset: Book, fields: ['title', 'shelf'] })];
  }
  const shelved = new Shelved();
  assert.deepEqual(await fieldErrors(shelved, { title: 'Taken', shelf: 2 }, { trx: knex }), { title: ['This field must be unique.'] });
  assert.deepEqual(await shelved.runValidation({ title: 'Taken', shelf: 2 }, { trx: knex, instance: { id: 'a' } }), {
    title: 'Taken',
    shelf: 2,
  });
  class Together extends Serializer {
    static override fields = { title: new CharField(), shelf: new IntegerField({ required: false }) };
    static override validators = [new UniqueTogetherValidator({ queryset: Book, fields: ['title', 'shelf'] })];
  }
  assert.deepEqual(await fieldErrors(new Together(), { title: 'Taken', shelf: 1 }, { trx: knex }), {
    non_field_errors: ['The fields title, shelf must make a unique set.'],
  });
  assert.deepEqual(await fieldErrors(new Together(), { title: 'New' }, { trx: knex }), { shelf: ['This field is required.'] });
  assert.deepEqual(await new Together().runValidation({ title: 'Taken', shelf: 3 }, { trx: knex }), { title: 'Taken', shelf: 3 });
});

test('modelSerializer infers fields: the real primary key type, choices, dates, lists, unique columns; extraKwargs', async () => {
  const BookSerializer = modelSerializer(Book, { fields: '__all__', extraKwargs: { shelf: { minValue: 1 } } });
  const serializer = new BookSerializer();
  assert.deepEqual(serializer.fieldNames, ['id', 'title', 'shelf', 'genre', 'published', 'tags']);
  assert.deepEqual(serializer.toRepresentation({ id: 'A-1', title: 't', shelf: 1, genre: 'novel', published: null, tags: '["x"]' }), {
    id: 'A-1',
    title: 't',
    shelf: 1,
    genre: 'novel',
    published: null,
    tags: ['x'],
  });
  assert.deepEqual(
    await fieldErrors(serializer, { title: 'Taken', shelf: 0, genre: 'poem', published: 'x', tags: [1, {}] }, { trx: knex }),
    {
      title: ['book with this title already exists.'],
      shelf: ['Ensure this value is greater than or equal to 1.'],
      genre: ['"poem" is not a valid choice.'],
      published: ['Date has wrong format. Use one of these formats instead: YYYY-MM-DD.'],
      tags: { 1: ['Not a valid string.'] },
    },
  );
  assert.deepEqual(await serializer.runValidation({ title: 'New', shelf: 2, id: 'ignored' }, { trx: knex }), {
    title: 'New',
    shelf: 2,
    genre: 'novel',
    tags: [],
  });
  assert.deepEqual(
    await serializer.runValidation({ title: 'New', shelf: 2 }, { trx: knex, instance: { id: 'a' } }),
    { title: 'New', shelf: 2 },
    'model defaults fill new rows only',
  );
});
