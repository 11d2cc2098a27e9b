/**
 * Serializer fields with DRF's representations and validation messages (DRF 3.15), by family:
 * base (options, messages), text, numbers, dates, choices, structured (lists, dicts, JSON),
 * relations, misc (booleans, UUIDs, read-only, hidden and method fields, context defaults).
 */
export {
  ContextDefault,
  Field,
  FieldError,
  SKIP,
  pythonRepr,
  pythonStr,
  pythonTypeName,
  type BoundField,
  type FieldOptions,
  type FieldValidator,
  type FieldValidatorFunction,
  type ValidationContext,
} from './fields/base.js';
export {
  CharField,
  EmailField,
  IPAddressField,
  RegexField,
  SlugField,
  URLField,
  type CharFieldOptions,
  type IPAddressFieldOptions,
  type RegexFieldOptions,
  type SlugFieldOptions,
} from './fields/text.js';
export {
  DecimalField,
  FloatField,
  IntegerField,
  type DecimalFieldOptions,
  type FloatFieldOptions,
  type IntegerFieldOptions,
} from './fields/numbers.js';
export {
  DateField,
  DateTimeField,
  DurationField,
  TimeField,
  type DateFieldOptions,
  type DateFormat,
  type DateTimeFieldOptions,
  type DurationFieldOptions,
  type TimeFieldOptions,
} from './fields/dates.js';
export {
  ChoiceField,
  MultipleChoiceField,
  flattenChoices,
  type ChoiceFieldOptions,
  type ChoiceValue,
  type Choices,
  type MultipleChoiceFieldOptions,
} from './fields/choices.js';
export {
  DictField,
  JSONField,
  ListField,
  type DictFieldOptions,
  type JSONFieldOptions,
  type ListFieldOptions,
} from './fields/structured.js';
export { INTEGER_RANGE, PrimaryKeyRelatedField, type PrimaryKeyRelatedFieldOptions } from './fields/relations.js';
export {
  BooleanField,
  CreateOnlyDefault,
  CurrentUserDefault,
  HiddenField,
  ReadOnlyField,
  SerializerMethodField,
  UUIDField,
  type SerializerMethodFieldOptions,
  type UUIDFieldOptions,
} from './fields/misc.js';
export {
  UniqueCheck,
  UniqueTogetherValidator,
  UniqueValidator,
  type Queryset,
  type SerializerValidationContext,
  type SerializerValidator,
  type UniqueTogetherValidatorOptions,
  type UniqueValidatorOptions,
} from './validators.js';
