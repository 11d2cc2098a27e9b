/**
 * Date and time fields against DRF 3.15.2 (rest_framework/fields.py: DateField, DateTimeField,
 * TimeField, DurationField, ISO 8601 settings; Django's dateparse; USE_TZ with TIME_ZONE "UTC").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DateField, DateTimeField, DurationField, TimeField } from '../../src/serializers/fields.js';
import { refusal } from '../helpers/fields.js';

const DATETIME_FORMATS = 'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].';

test("DateField: YYYY-MM-DD (and Django's looser forms) in, isoformat out; DRF's message", () => {
  const field = new DateField();
  assert.equal(field.runValidation('2024-02-29'), '2024-02-29');
  assert.equal(field.runValidation('2024-2-9'), '2024-02-09');
  assert.equal(field.runValidation('20240102'), '2024-01-02');
  for (const bad of ['2023-02-29', '2024-13-01', '2024-01-02T10:00', 'yesterday', '', 20240102, ['2024-01-01']]) {
    assert.deepEqual(refusal(field, bad), ['Date has wrong format. Use one of these formats instead: YYYY-MM-DD.'], String(bad));
  }
  assert.equal(field.toRepresentation('2024-01-02'), '2024-01-02');
  assert.equal(field.toRepresentation(new Date(2024, 0, 2)), '2024-01-02', "a driver's Date is its local day");
});

test('DateTimeField: offsets converted to UTC, naive read as UTC, stored with 6 fraction digits, shown as DRF does', () => {
  const field = new DateTimeField();
  assert.equal(field.runValidation('2024-01-02T10:00:00+02:00'), '2024-01-02T08:00:00.000000Z');
  assert.equal(field.runValidation('2024-01-02 10:00'), '2024-01-02T10:00:00.000000Z');
  assert.equal(field.runValidation('2024-01-02T10:00:00.1234567Z'), '2024-01-02T10:00:00.123456Z');
  assert.equal(field.runValidation('2024-01-02'), '2024-01-02T00:00:00.000000Z', 'a date alone is midnight, as fromisoformat');
  assert.equal(field.runValidation('2024-1-2T3:04:05-0130'), '2024-01-02T04:34:05.000000Z');
  assert.equal(field.toRepresentation('2024-01-02T10:00:00.000000Z'), '2024-01-02T10:00:00Z', 'no fraction when it is zero');
  assert.equal(field.toRepresentation('2024-01-02T10:00:00.120000Z'), '2024-01-02T10:00:00.120000Z', 'six digits otherwise');
  assert.equal(field.toRepresentation('2024-01-02 10:00:00.5+00'), '2024-01-02T10:00:00.500000Z', "PostgreSQL's text");
  assert.equal(field.toRepresentation(new Date(Date.UTC(2024, 0, 2, 10, 0, 0, 7))), '2024-01-02T10:00:00.007000Z');
  const paris = new DateTimeField({ timezone: '+01:00' });
  assert.equal(paris.runValidation('2024-01-02T10:00'), '2024-01-02T09:00:00.000000Z', 'naive input is in the field zone');
  assert.equal(paris.toRepresentation('2024-01-02T09:00:00.000000Z'), '2024-01-02T10:00:00+01:00');
  for (const bad of ['2024-01-02T25:00', '2024-02-30T10:00', 'now', '', 5, '2024-01-02T10:00+25:00'])
    assert.deepEqual(refusal(field, bad), [DATETIME_FORMATS], String(bad));
  assert.deepEqual(refusal(field, '0001-01-01T00:00:00+01:00'), ['Datetime value out of range.']);
});

test("TimeField: hh:mm[:ss[.uuuuuu]] in, isoformat out; DRF's message", () => {
  const field = new TimeField();
  assert.equal(field.runValidation('10:30'), '10:30:00');
  assert.equal(field.runValidation('10:30:05.5'), '10:30:05.500000');
  assert.equal(field.runValidation('1:2:3'), '01:02:03');
  assert.equal(field.runValidation('10:30+02:00'), '10:30:00', 'an offset is dropped, as Django does');
  for (const bad of ['24:00', '10:60', 'noon', '', 1030])
    assert.deepEqual(refusal(field, bad), ['Time has wrong format. Use one of these formats instead: hh:mm[:ss[.uuuuuu]].'], String(bad));
  assert.equal(field.toRepresentation('10:30:00'), '10:30:00');
});

test("DurationField: Django's, ISO 8601 and PostgreSQL forms in, duration_string out; DRF's messages", () => {
  const field = new DurationField({ maxValue: '2 00:00:00', minValue: '-1 00:00:00' });
  assert.equal(field.runValidation('1 02:03:04.000005'), '1 02:03:04.000005');
  assert.equal(field.runValidation('90'), '00:01:30');
  assert.equal(field.runValidation(3600), '01:00:00');
  assert.equal(field.runValidation('P1DT2H'), '1 02:00:00');
  assert.equal(field.runValidation('1 day 01:00:00'), '1 01:00:00');
  assert.equal(field.runValidation('-00:00:05'), '-1 23:59:55', 'negative durations as timedelta normalizes them');
  assert.deepEqual(refusal(field, 'soon'), ['Duration has wrong format. Use one of these formats instead: [DD] [HH:[MM:]]ss[.uuuuuu].']);
  assert.deepEqual(refusal(field, '3 00:00:00'), ['Ensure this value is less than or equal to 2 days, 0:00:00.']);
  assert.deepEqual(refusal(field, '-2 00:00:00'), ['Ensure this value is greater than or equal to -1 day, 0:00:00.']);
  assert.deepEqual(refusal(new DurationField(), '1000000000 00:00:00'), ['The number of days must be between -999999999 and 999999999.']);
  assert.equal(field.toRepresentation('1 day 02:03:04'), '1 02:03:04', "PostgreSQL's interval text");
});
