/**
 * A serializer derived from an Objection model: DRF's ModelSerializer in TypeScript. Fields are inferred
 * from the model's `jsonSchema`, its `columns` (what JSON Schema cannot say: decimal precision, a
 * column set by the model, a unique column) and its belongs-to-one relations.
 */
import { Model, type ModelClass } from 'objection';
import type { Field, FieldOptions } from './fields/base.js';
import { DateField, DateTimeField, DurationField, TimeField } from './fields/dates.js';
import { ChoiceField, type Choices } from './fields/choices.js';
import { CreateOnlyDefault, BooleanField, UUIDField } from './fields/misc.js';
import { DecimalField, FloatField, IntegerField } from './fields/numbers.js';
import { INTEGER_RANGE, PrimaryKeyRelatedField } from './fields/relations.js';
import { JSONField, ListField } from './fields/structured.js';
import { CharField, EmailField, IPAddressField, RegexField, SlugField, URLField } from './fields/text.js';
import { Serializer } from './serializer.js';
import { UniqueValidator, type SerializerValidator } from './validators.js';

interface SchemaProperty {
  type?: string | string[];
  maxLength?: number;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  format?: string;
  pattern?: string;
  enum?: unknown[];
  default?: unknown;
  items?: SchemaProperty;
  minItems?: number;
  maxItems?: number;
}

/** What a model says about a column beyond its jsonSchema (Django's model field options). */
export interface ColumnInfo {
  /** The column's kind where JSON Schema cannot tell it (a decimal is a string in JSON). */
  type?: 'decimal' | 'date' | 'datetime' | 'time' | 'duration' | 'uuid' | 'json' | 'url' | 'slug' | 'email' | 'ip' | 'text';
  /** Decimal precision (`numeric(8, 2)`: 8 and 2). */
  maxDigits?: number;
  decimalPlaces?: number;
  /** Bounds (exact for decimals: give them as strings). */
  minValue?: string | number;
  maxValue?: string | number;
  /** False: the model sets it, clients never do (Django's `editable=False`). */
  editable?: boolean;
  /** Set by the model on every write (Django's `auto_now`): read-only. */
  autoNow?: boolean;
  /** No two rows share a value: a UniqueValidator with Django's message. */
  unique?: boolean;
  /** `""` is allowed (Django's `blank=True`); default: when the column's default is `""`. */
  blank?: boolean;
  choices?: Choices;
  /** The column's name in messages; default the column name with underscores as spaces. */
  verboseName?: string;
}

/** A model's column facts by column name (`static columns = { price: { type: 'decimal', maxDigits: 8, decimalPlaces: 2 } }`). */
export type ModelColumns = Record<string, ColumnInfo>;

/** Any field's options (for `extraKwargs`). */
export type AnyFieldOptions = FieldOptions & Record<string, unknown>;

export interface ModelSerializerOptions<
  Names extends readonly string[] = readonly string[],
  Declared extends Record<string, Field> = Record<string, Field>,
> {
  /** Field names in output order (after renaming the primary key), or `__all__`: the id column, then jsonSchema's properties, then `declared`. */
  fields?: Names | '__all__';
  /** Names left out of `__all__`. */
  exclude?: readonly string[];
  /** The name the primary key has on the wire, e.g. `pk` (DCRF's default serializers say `id`). */
  pkName?: string;
  /** Fields shown but never written (DRF's `read_only_fields`). The primary key is always read-only. */
  readOnlyFields?: readonly string[];
  /** The older name of `readOnlyFields`. */
  readOnly?: readonly string[];
  /** Options added to inferred fields by name (DRF's `extra_kwargs`): `{ price: { minValue: '0' } }`. */
  extraKwargs?: Record<string, AnyFieldOptions>;
  /** Foreign keys: column → the related model, checked with DRF's "Invalid pk" message (belongs-to-one relations are found without it). */
  relations?: Record<string, () => ModelClass<Model>>;
  /** Columns with a uniqueness check ("<model> with this <field> already exists."), besides the columns that say `unique`. */
  unique?: readonly string[];
  /** The model's name in messages; default: the class name in lower case. */
  verboseName?: string;
  /** Fields declared on the serializer, by name (DRF's class attributes): nested serializers, method fields, overrides. */
  declared?: Declared;
  /** The older name of `declared`. */
  extra?: Record<string, Field>;
  /** Serializer-level validators (DRF's `Meta.validators`). */
  validators?: readonly SerializerValidator[];
}

const SLUG_PATTERN = '^[-a-zA-Z0-9_]+$';

type Make = (options: AnyFieldOptions) => Field;

/** The field class for one jsonSchema property and its column facts, as a factory of its options. */
function fieldKind(property: SchemaProperty, column: ColumnInfo): { make: Make; options: AnyFieldOptions } {
  const types = Array.isArray(property.type) ? property.type : [property.type];
  const choices = column.choices ?? property.enum?.filter((value) => value !== null);
  const bounds = (min: unknown, max: unknown) => ({
    ...(min !== undefined ? { minValue: min } : {}),
    ...(max !== undefined ? { maxValue: max } : {}),
  });
  const text = {
    ...(property.maxLength !== undefined ? { maxLength: property.maxLength } : {}),
    ...(property.minLength !== undefined ? { minLength: property.minLength } : {}),
    allowBlank: column.blank ?? property.default === '',
  };
  if (column.type === 'decimal') {
    return {
      make: (o) => new DecimalField(o as never),
      options: {
        maxDigits: column.maxDigits ?? null,
        decimalPlaces: column.decimalPlaces ?? null,
        ...bounds(column.minValue, column.maxValue),
      },
    };
  }
  if (choices)
    return {
      make: (o) => new ChoiceField(o as never),
      options: { choices, allowBlank: column.blank ?? (Array.isArray(choices) && choices.includes('')) },
    };
  if (column.type === 'json' || types.includes('object')) return { make: (o) => new JSONField(o), options: {} };
  if (types.includes('integer')) {
    // Without bounds, the column's own range (Django's IntegerField has the same validators).
    const range = bounds(
      column.minValue ?? property.minimum ?? INTEGER_RANGE.min,
      column.maxValue ?? property.maximum ?? INTEGER_RANGE.max,
    );
    return { make: (o) => new IntegerField(o), options: range };
  }
  if (types.includes('number'))
    return { make: (o) => new FloatField(o), options: bounds(column.minValue ?? property.minimum, column.maxValue ?? property.maximum) };
  if (types.includes('boolean')) return { make: (o) => new BooleanField(o), options: {} };
  if (types.includes('array')) {
    const child = property.items ? fieldKind(property.items, {}) : undefined;
    return {
      make: (o) => new ListField(o),
      options: {
        ...(child ? { child: child.make(child.options) } : {}),
        ...(property.minItems !== undefined ? { minLength: property.minItems } : {}),
        ...(property.maxItems !== undefined ? { maxLength: property.maxItems } : {}),
      },
    };
  }
  if (!types.includes('string')) return { make: (o) => new JSONField(o), options: {} };
  const kind = column.type ?? property.format;
  switch (kind) {
    case 'date':
      return { make: (o) => new DateField(o), options: {} };
    case 'datetime':
    case 'date-time':
      return { make: (o) => new DateTimeField(o), options: {} };
    case 'time':
      return { make: (o) => new TimeField(o), options: {} };
    case 'duration':
      return { make: (o) => new DurationField(o), options: {} };
    case 'uuid':
      return { make: (o) => new UUIDField(o), options: {} };
    case 'url':
    case 'uri':
      return { make: (o) => new URLField(o), options: text };
    case 'email':
      return { make: (o) => new EmailField(o), options: text };
    case 'ip':
    case 'ipv4':
    case 'ipv6':
      return { make: (o) => new IPAddressField(o), options: { ...text, protocol: kind === 'ip' ? 'both' : kind } };
    default:
  }
  if (kind === 'slug' || property.pattern === SLUG_PATTERN) return { make: (o) => new SlugField(o), options: text };
  if (property.pattern) return { make: (o) => new RegexField(o as never), options: { ...text, regex: property.pattern } };
  return { make: (o) => new CharField(o), options: text };
}

/** The related model of each belongs-to-one relation, by its owner column. */
function foreignKeys(model: ModelClass<Model>): Map<string, () => ModelClass<Model>> {
  const keys = new Map<string, () => ModelClass<Model>>();
  for (const relation of Object.values(model.getRelations())) {
    const owner = relation.ownerProp as unknown as { cols: string[] };
    if (relation instanceof Model.BelongsToOneRelation && owner.cols.length === 1) {
      keys.set(owner.cols[0] as string, () => relation.relatedModelClass as ModelClass<Model>);
    }
  }
  return keys;
}

/** The serializer class modelSerializer builds: its `fields` typed for `Infer`. */
export type ModelSerializerClass<Fields> = typeof Serializer & { fields: Fields };

/** The fields of a model serializer as TypeScript sees them: declared ones as declared, inferred ones typed by the model's properties. */
export type ModelFields<M, Names extends readonly string[], Declared> = {
  [K in Names[number]]: K extends keyof Declared ? Declared[K] : Field<K extends keyof InstanceOf<M> ? InstanceOf<M>[K] : unknown>;
};
type InstanceOf<M> = M extends abstract new (...args: any) => infer I ? I : never;

/** Builds a Serializer class for an Objection model (subclass it for `get_<field>` and `validate` hooks). */
export function modelSerializer<
  M extends ModelClass<Model>,
  const Names extends readonly string[] = readonly string[],
  const Declared extends Record<string, Field> = {},
>(model: M, options: ModelSerializerOptions<Names, Declared> = {}): ModelSerializerClass<ModelFields<M, Names, Declared>> {
  const idColumn = model.idColumn as string;
  const schema = (model.jsonSchema ?? {}) as { properties?: Record<string, SchemaProperty>; required?: string[] };
  const columns = ((model as unknown as { columns?: ModelColumns }).columns ?? {}) as ModelColumns;
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const readOnly = new Set([...(options.readOnlyFields ?? []), ...(options.readOnly ?? [])]);
  const unique = new Set(options.unique ?? []);
  const pkName = options.pkName ?? idColumn;
  const verbose = options.verboseName ?? model.name.toLowerCase();
  const relations = foreignKeys(model);
  for (const [column, related] of Object.entries(options.relations ?? {})) relations.set(column, related);

  const build = (column: string, property: SchemaProperty): Field => {
    const info = columns[column] ?? {};
    const isPk = column === idColumn;
    const isReadOnly = isPk || readOnly.has(column) || info.editable === false || Boolean(info.autoNow);
    const allowNull = (Array.isArray(property.type) ? property.type : [property.type]).includes('null');
    const common: AnyFieldOptions = { readOnly: isReadOnly, allowNull };
    if (isPk && column !== pkName) common.source = idColumn;
    if (!isReadOnly) {
      if (property.default !== undefined) {
        // The model's default fills a new row only: a full update leaves an omitted field as it is, as DRF's ModelSerializer does.
        const value = property.default;
        common.default = new CreateOnlyDefault(typeof value === 'object' && value !== null ? () => structuredClone(value) : value);
      } else common.required = required.has(column) && !allowNull;
      if (unique.has(column) || info.unique) {
        const label = info.verboseName ?? column.replace(/_/g, ' ');
        common.validators = [new UniqueValidator({ queryset: model, message: `${verbose} with this ${label} already exists.` })];
      }
    }
    const related = relations.get(column);
    const kind: { make: Make; options: AnyFieldOptions } = related
      ? { make: (o) => new PrimaryKeyRelatedField(related, o), options: {} }
      : fieldKind(property, info);
    return kind.make({ ...kind.options, ...common, ...(options.extraKwargs?.[isPk ? pkName : column] ?? {}) });
  };

  const available: Record<string, Field> = {};
  available[pkName] = build(idColumn, properties[idColumn] ?? { type: 'integer' });
  for (const [column, property] of Object.entries(properties)) if (column !== idColumn) available[column] = build(column, property);
  Object.assign(available, options.extra ?? {}, options.declared ?? {});

  const excluded = new Set(options.exclude ?? []);
  const names =
    options.fields === undefined || options.fields === '__all__'
      ? Object.keys(available).filter((name) => !excluded.has(name))
      : options.fields;
  const fields: Record<string, Field> = {};
  for (const name of names) {
    const field = available[name];
    if (!field) throw new Error(`${model.name} has no field "${name}" to serialize`);
    fields[name] = field;
  }
  const validators = options.validators ?? [];

  return class extends Serializer {
    static override fields = fields;
    static override validators = validators;
  } as unknown as ModelSerializerClass<ModelFields<M, Names, Declared>>;
}
