/**
 * Test helpers for serializer fields: what a field makes of one input value, or the messages it refuses it with.
 */
import assert from 'node:assert/strict';
import { FieldError, type Field } from '../../src/serializers/fields.js';
import { ValidationError } from '../../src/errors.js';
import type { Serializer } from '../../src/serializers/serializer.js';

/** The messages a field refuses `value` with (DRF's `run_validation`); fails the test when it accepts it. */
export function refusal(field: Field, value: unknown): unknown {
  try {
    const accepted = field.runValidation(value);
    assert.fail(`expected a refusal, got ${JSON.stringify(accepted)}`);
  } catch (error) {
    if (error instanceof FieldError) return error.messages;
    throw error;
  }
}

/** The field errors a serializer answers `data` with; fails the test when it accepts it. */
export async function fieldErrors(serializer: Serializer, data: unknown, context = {}): Promise<unknown> {
  try {
    await serializer.runValidation(data, context);
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error.fields;
  }
  assert.fail('expected a ValidationError');
}
