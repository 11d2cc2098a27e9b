/**
 * A serializer derived from an Objection model's jsonSchema: DRF's ModelSerializer in TypeScript.
 */
import type { Model, ModelClass } from 'objection';
import { BooleanField, CharField, EmailField, Field, INTEGER_RANGE, IntegerField, PrimaryKeyRelatedField, UniqueCheck } from './fields.js';
import { Serializer, type SerializerClass } from './serializer.js';

interface SchemaProperty {
  type?: string | string[];
  maxLength?: number;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  format?: string;
  default?: unknown;
}

export interface ModelSerializerOptions {
  /** Output field names in order (after renaming the primary key); default: the id column, then jsonSchema's properties. */
  fields?: string[];
  /** The name the primary key has on the wire, e.g. `pk` (DCRF's default serializers say `id`). */
  pkName?: string;
  /** Fields shown but never written. The primary key is always read-only. */
  readOnly?: string[];
  /** Foreign keys: column → the related model, checked with DRF's "Invalid pk" message. */
  relations?: Record<string, () => ModelClass<Model>>;
  /** Columns with a uniqueness check ("<model> with this <field> already exists."). */
  unique?: string[];
  /** The model's name in messages; default: the class name in lower case. */
  verboseName?: string;
  /** Fields to add or replace, by output name. */
  extra?: Record<string, Field>;
}

function fieldFromSchema(property: SchemaProperty, required: boolean, readOnly: boolean): Field {
  const types = Array.isArray(property.type) ? property.type : [property.type];
  const common = {
    required: readOnly ? false : required && property.default === undefined,
    readOnly,
    allowNull: types.includes('null'),
    ...(property.default !== undefined ? { default: property.default } : {}),
  };
  if (types.includes('integer')) {
    // Without bounds in the schema, the column's own range (Django's IntegerField has the same validators).
    return new IntegerField({ ...common, minValue: property.minimum ?? INTEGER_RANGE.min, maxValue: property.maximum ?? INTEGER_RANGE.max });
  }
  if (types.includes('boolean')) return new BooleanField(common);
  if (types.includes('string')) {
    const options = { ...common, maxLength: property.maxLength, minLength: property.minLength, allowBlank: false };
    return property.format === 'email' ? new EmailField({ ...options, allowBlank: true }) : new CharField(options);
  }
  return new Field(common);
}

/** Builds a Serializer class for an Objection model. */
export function modelSerializer(model: ModelClass<Model>, options: ModelSerializerOptions = {}): SerializerClass {
  const idColumn = model.idColumn as string;
  const schema = (model.jsonSchema ?? {}) as { properties?: Record<string, SchemaProperty>; required?: string[] };
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const readOnly = new Set(options.readOnly ?? []);
  const pkName = options.pkName ?? idColumn;
  const verbose = options.verboseName ?? model.name.toLowerCase();

  const available: Record<string, Field> = {};
  available[pkName] = new IntegerField({ source: idColumn, readOnly: true });
  for (const [column, property] of Object.entries(properties)) {
    if (column === idColumn) continue;
    const relation = options.relations?.[column];
    const isReadOnly = readOnly.has(column);
    available[column] = relation
      ? new PrimaryKeyRelatedField(relation, { required: !isReadOnly && required.has(column), readOnly: isReadOnly })
      : fieldFromSchema(property, required.has(column), isReadOnly);
  }
  Object.assign(available, options.extra ?? {});

  const names = options.fields ?? Object.keys(available);
  const fields: Record<string, Field> = {};
  for (const name of names) {
    const field = available[name];
    if (!field) throw new Error(`${model.name} has no field "${name}" to serialize`);
    fields[name] = field;
  }
  const uniqueChecks: Record<string, UniqueCheck> = {};
  for (const column of options.unique ?? []) {
    uniqueChecks[column] = new UniqueCheck(() => model, column, `${verbose} with this ${column} already exists.`);
  }

  return class extends Serializer {
    static override fields = fields;
    static override uniqueChecks = uniqueChecks;
  };
}
