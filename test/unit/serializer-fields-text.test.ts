/**
 * String fields against DRF 3.15.2 (rest_framework/fields.py: CharField, EmailField, RegexField,
 * SlugField, URLField, IPAddressField; Django 5's validators): representation, accepted inputs, every
 * message as DRF words it, and null/blank/required in a serializer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharField, EmailField, IPAddressField, RegexField, SlugField, URLField } from '../../src/serializers/fields.js';
import { Serializer } from '../../src/serializers/serializer.js';
import { fieldErrors, refusal } from '../helpers/fields.js';

test('CharField: strings and numbers in (trimmed), DRF messages for type, blank, lengths and NUL', () => {
  const field = new CharField({ maxLength: 5, minLength: 2 });
  assert.equal(field.runValidation('  abc '), 'abc');
  assert.equal(field.runValidation(12), '12');
  assert.equal(field.runValidation(1.5), '1.5');
  assert.equal(field.toRepresentation(7), '7');
  assert.deepEqual(refusal(field, true), ['Not a valid string.']);
  assert.deepEqual(refusal(field, ['a']), ['Not a valid string.']);
  assert.deepEqual(refusal(field, { a: 1 }), ['Not a valid string.']);
  assert.deepEqual(refusal(field, '   '), ['This field may not be blank.']);
  assert.deepEqual(refusal(field, 'abcdef'), ['Ensure this field has no more than 5 characters.']);
  assert.deepEqual(refusal(field, 'a'), ['Ensure this field has at least 2 characters.']);
  assert.deepEqual(refusal(field, 'a\u0000b'), ['Null characters are not allowed.']);
  assert.deepEqual(refusal(field, null), ['This field may not be null.']);
  assert.equal(new CharField({ allowBlank: true }).runValidation('  '), '');
  assert.equal(new CharField({ trimWhitespace: false }).runValidation(' a '), ' a ');
  assert.equal(new CharField({ maxLength: 2 }).runValidation('😀😀'), '😀😀', 'characters are code points');
});

test("error_messages replace DRF's by key", () => {
  const field = new CharField({ errorMessages: { blank: 'Give it a name.', max_length: 'At most {max_length}!' }, maxLength: 1 });
  assert.deepEqual(refusal(field, ''), ['Give it a name.']);
  assert.deepEqual(refusal(field, 'ab'), ['At most 1!']);
});

test("EmailField: Django's EmailValidator; every failing check is reported", () => {
  const field = new EmailField({ maxLength: 10 });
  for (const good of ['a@b.co', 'x.y+z@ex-ample.org', 'me@localhost', 'a@[127.0.0.1]'])
    assert.equal(new EmailField().runValidation(good), good);
  for (const bad of ['nope', 'a@b', 'a@b.c', 'a@@b.com', 'a b@c.com', '.a@b.com'])
    assert.deepEqual(refusal(new EmailField(), bad), ['Enter a valid email address.'], bad);
  assert.deepEqual(refusal(field, 'not-an-email-at-all'), [
    'Ensure this field has no more than 10 characters.',
    'Enter a valid email address.',
  ]);
});

test("RegexField, SlugField: DRF's messages", () => {
  const regex = new RegexField({ regex: /^[A-Z]{3}$/ });
  assert.equal(regex.runValidation('ABC'), 'ABC');
  assert.deepEqual(refusal(regex, 'abc'), ['This value does not match the required pattern.']);
  const slug = new SlugField();
  assert.equal(slug.runValidation('a-b_C9'), 'a-b_C9');
  assert.deepEqual(refusal(slug, 'a b'), ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.']);
  assert.deepEqual(refusal(slug, 'é'), ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.']);
  const unicode = new SlugField({ allowUnicode: true });
  assert.equal(unicode.runValidation('été-1'), 'été-1');
  assert.deepEqual(refusal(unicode, 'a b'), ['Enter a valid "slug" consisting of Unicode letters, numbers, underscores, or hyphens.']);
});

test("URLField: Django's URLValidator (http, https, ftp, ftps; hosts, IPs, ports, paths)", () => {
  const field = new URLField();
  for (const good of [
    'http://example.com',
    'https://a.b.example.co.uk/x?y=1#z',
    'ftp://10.0.0.1:21/f',
    'http://localhost:8000/',
    'http://[::1]/',
    'https://user:pw@host.io',
  ]) {
    assert.equal(field.runValidation(good), good, good);
  }
  for (const bad of [
    'example.com',
    'mailto:a@b.co',
    'http://',
    'http://exa mple.com',
    'javascript:alert(1)',
    'http://-bad.com',
    'http://a.b-',
  ]) {
    assert.deepEqual(refusal(field, bad), ['Enter a valid URL.'], bad);
  }
});

test('IPAddressField: both protocols, IPv6 compressed; one protocol only', () => {
  const field = new IPAddressField();
  assert.equal(field.runValidation('192.168.0.1'), '192.168.0.1');
  assert.equal(field.runValidation('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(field.runValidation('::ffff:10.0.0.1'), '10.0.0.1');
  assert.deepEqual(refusal(field, '256.1.1.1'), ['Enter a valid IPv4 or IPv6 address.']);
  assert.deepEqual(refusal(field, 5), ['Enter a valid IPv4 or IPv6 address.']);
  assert.deepEqual(refusal(new IPAddressField({ protocol: 'IPv4' }), '::1'), ['Enter a valid IPv4 address.']);
  assert.deepEqual(refusal(new IPAddressField({ protocol: 'IPv6' }), '1.2.3.4'), ['Enter a valid IPv6 address.']);
});

class Names extends Serializer {
  static override fields = {
    required: new CharField(),
    optional: new CharField({ required: false }),
    nullable: new CharField({ allowNull: true, required: false }),
    blank: new CharField({ allowBlank: true, required: false }),
    defaulted: new CharField({ default: 'x' }),
  };
}

test('null, blank and required combinations in a serializer, as DRF answers them', async () => {
  const names = new Names();
  assert.deepEqual(await fieldErrors(names, {}), { required: ['This field is required.'] });
  assert.deepEqual(await fieldErrors(names, { required: null, optional: null, blank: null }), {
    required: ['This field may not be null.'],
    optional: ['This field may not be null.'],
    blank: ['This field may not be null.'],
  });
  assert.deepEqual(await fieldErrors(names, { required: '', optional: '', nullable: '' }), {
    required: ['This field may not be blank.'],
    optional: ['This field may not be blank.'],
    nullable: ['This field may not be blank.'],
  });
  assert.deepEqual(await names.runValidation({ required: 'a', nullable: null, blank: '' }), {
    required: 'a',
    nullable: null,
    blank: '',
    defaulted: 'x',
  });
  // A default applies on create and on a full update, never on a partial one.
  assert.deepEqual(await names.runValidation({ required: 'a' }, { instance: { id: 1 } }), { required: 'a', defaulted: 'x' });
  assert.deepEqual(await names.runValidation({}, { partial: true }), {});
});
