/**
 * Number fields against DRF 3.15.2 (rest_framework/fields.py: IntegerField, FloatField, DecimalField
 * with COERCE_DECIMAL_TO_STRING): representation, accepted inputs and every message as DRF words it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecimalField, FloatField, IntegerField } from '../../src/serializers/fields.js';
import { refusal } from '../helpers/fields.js';

test('IntegerField: integers and integer text ("5", " 5.0 "); DRF messages', () => {
  const field = new IntegerField({ minValue: -3, maxValue: 10 });
  assert.equal(field.runValidation('5'), 5);
  assert.equal(field.runValidation(' 7.00 '), 7);
  assert.equal(field.runValidation(-3), -3);
  for (const bad of [1.5, '1.5', 'x', true, [], {}, ''])
    assert.deepEqual(refusal(field, bad), ['A valid integer is required.'], String(bad));
  assert.deepEqual(refusal(field, '1'.repeat(1001)), ['String value too large.']);
  assert.deepEqual(refusal(field, 11), ['Ensure this value is less than or equal to 10.']);
  assert.deepEqual(refusal(field, -4), ['Ensure this value is greater than or equal to -3.']);
});

test('FloatField: numbers, numeric text and booleans (Python float()); DRF messages', () => {
  const field = new FloatField({ minValue: 0, maxValue: 5 });
  assert.equal(field.runValidation('4.5'), 4.5);
  assert.equal(field.runValidation(' 1e0 '), 1);
  assert.equal(field.runValidation(true), 1);
  assert.equal(field.runValidation(3), 3);
  assert.equal(field.toRepresentation('2.5'), 2.5);
  for (const bad of ['x', '', [], {}, 'nan', 'inf']) assert.deepEqual(refusal(field, bad), ['A valid number is required.'], String(bad));
  assert.deepEqual(refusal(field, Number.POSITIVE_INFINITY), ['Integer value too large to convert to float']);
  assert.deepEqual(refusal(field, '9'.repeat(1001)), ['String value too large.']);
  assert.deepEqual(refusal(field, 5.5), ['Ensure this value is less than or equal to 5.']);
  assert.deepEqual(refusal(field, -0.5), ['Ensure this value is greater than or equal to 0.']);
});

test('DecimalField: exact text in and out, quantized to decimal_places; never a float', () => {
  const price = new DecimalField({ maxDigits: 8, decimalPlaces: 2, minValue: '0' });
  assert.equal(price.runValidation('12.5'), '12.50');
  assert.equal(price.runValidation(' 12.50 '), '12.50');
  assert.equal(price.runValidation(12.5), '12.50');
  assert.equal(price.runValidation('1e2'), '100.00');
  assert.equal(price.runValidation('.5'), '0.50');
  assert.equal(price.runValidation('999999.99'), '999999.99');
  assert.equal(price.runValidation('0.1'), '0.10', 'not 0.1000000000000000055');
  assert.equal(price.toRepresentation('12.5'), '12.50');
  assert.equal(price.toRepresentation(12.5), '12.50', 'a float from an old column is shown quantized');
  assert.equal(price.toRepresentation('0.125'), '0.12', 'ROUND_HALF_EVEN, as Python');
  assert.equal(price.toRepresentation('0.135'), '0.14');
  assert.equal(new DecimalField({ maxDigits: 8, decimalPlaces: 2, coerceToString: false }).toRepresentation('12.50'), 12.5);
  assert.equal(new DecimalField({ maxDigits: null, decimalPlaces: null }).toRepresentation('1.500'), '1.500');
  assert.equal(new DecimalField({ maxDigits: 8, decimalPlaces: 3, normalizeOutput: true }).toRepresentation('1.500'), '1.5');
  assert.equal(new DecimalField({ maxDigits: 5, decimalPlaces: 0, rounding: 'ROUND_UP' }).toRepresentation('1.1'), '2');
});

test("DecimalField: DRF's messages (invalid, digits, places, whole digits, bounds, too long)", () => {
  const price = new DecimalField({ maxDigits: 8, decimalPlaces: 2, minValue: '0', maxValue: '100000' });
  for (const bad of ['abc', '', '1.2.3', 'NaN', 'Infinity', '-inf', true, [], {}])
    assert.deepEqual(refusal(price, bad), ['A valid number is required.'], String(bad));
  assert.deepEqual(refusal(price, '1.234'), ['Ensure that there are no more than 2 decimal places.']);
  assert.deepEqual(
    refusal(price, '12.500'),
    ['Ensure that there are no more than 2 decimal places.'],
    'trailing zeros count, as in Python',
  );
  assert.deepEqual(refusal(price, '123456789'), ['Ensure that there are no more than 8 digits in total.']);
  assert.deepEqual(refusal(price, '1234567.8'), ['Ensure that there are no more than 6 digits before the decimal point.']);
  assert.deepEqual(refusal(price, '-0.01'), ['Ensure this value is greater than or equal to 0.']);
  assert.deepEqual(refusal(price, '100000.01'), ['Ensure this value is less than or equal to 100000.']);
  assert.deepEqual(refusal(price, '1'.repeat(1001)), ['String value too large.']);
  assert.deepEqual(refusal(price, null), ['This field may not be null.']);
  assert.equal(
    new DecimalField({ maxDigits: 4, decimalPlaces: 2, allowNull: true }).runValidation('  '),
    null,
    'blank is null when null is allowed',
  );
});
