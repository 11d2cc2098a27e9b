/**
 * The demo app's models (docs/demo.md): Thing, Test, User, School, Classroom, Note, Product, and auth tokens.
 */
import { randomUUID } from 'node:crypto';
import { Model } from 'objection';
import type { CaptureMode } from '../events/capture/registry.js';
import { LiveModel } from '../models/live-model.js';

export class Thing extends LiveModel {
  static override tableName = 'things';
  /** Writes from anywhere (psql, the sqlite3 shell, another service) are events: see migrations/0005-capture.ts. */
  static override capture: CaptureMode = 'database';
  static override jsonSchema = {
    type: 'object',
    required: ['name'],
    properties: {
      id: { type: 'integer' },
      name: { type: 'string', maxLength: 64 },
      counter: { type: 'integer', default: 0 },
    },
  };
  declare id: number;
  declare name: string;
  declare counter: number;
}

export class Test extends LiveModel {
  static override tableName = 'tests';
  static override jsonSchema = {
    type: 'object',
    required: ['name'],
    properties: { id: { type: 'integer' }, name: { type: 'string', maxLength: 100 } },
  };
  declare id: number;
  declare name: string;
}

export class User extends LiveModel {
  static override tableName = 'users';
  static override jsonSchema = {
    type: 'object',
    required: ['username'],
    properties: {
      id: { type: 'integer' },
      username: { type: 'string', maxLength: 150 },
      email: { type: 'string', maxLength: 254, format: 'email', default: '' },
      is_active: { type: 'boolean', default: true },
    },
  };
  declare id: number;
  declare username: string;
  declare email: string;
  declare is_active: boolean | number;
}

export class Token extends Model {
  static override tableName = 'tokens';
  static override idColumn = 'key';
  declare key: string;
  declare user_id: number;
}

export class School extends LiveModel {
  static override tableName = 'schools';
  static override jsonSchema = {
    type: 'object',
    required: ['name'],
    properties: { id: { type: 'integer' }, name: { type: 'string', maxLength: 100 } },
  };
  declare id: number;
  declare name: string;
}

export class Classroom extends LiveModel {
  static override tableName = 'classrooms';
  static override capture: CaptureMode = 'database';
  static override jsonSchema = {
    type: 'object',
    required: ['name', 'school'],
    properties: {
      id: { type: 'integer' },
      name: { type: 'string', maxLength: 100 },
      school: { type: 'integer' },
    },
  };
  declare id: number;
  declare name: string;
  declare school: number;
}

export class Note extends LiveModel {
  static override tableName = 'notes';
  static override jsonSchema = {
    type: 'object',
    required: ['owner', 'text'],
    properties: {
      id: { type: 'integer' },
      owner: { type: 'integer' },
      text: { type: 'string', maxLength: 500 },
    },
  };
  declare id: number;
  declare owner: number;
  declare text: string;
}

/** The stored form of a datetime (the serializer's DateTimeField): UTC, 6 fraction digits, so text order is time order. */
const storedNow = () => new Date().toISOString().replace('Z', '000Z');

/**
 * A product (docs/demo.md): the DRF field set. `price` is exact decimal text (SQLite TEXT, PostgreSQL
 * numeric(8,2)), `tags` a JSON list, `uuid` made on insert, `updated_at` set by every write; every row
 * read for a reply or an event carries its school (`selectRelated`).
 */
export class Product extends LiveModel {
  static override tableName = 'products';
  static override jsonSchema = {
    type: 'object',
    required: ['name', 'slug', 'price'],
    properties: {
      id: { type: 'integer' },
      uuid: { type: 'string', format: 'uuid' },
      name: { type: 'string', maxLength: 80 },
      slug: { type: 'string', maxLength: 50, pattern: '^[-a-zA-Z0-9_]+$' },
      price: { type: 'string' },
      rating: { type: ['number', 'null'], minimum: 0, maximum: 5 },
      kind: { type: 'string', enum: ['book', 'music', 'video'], default: 'book' },
      tags: { type: 'array', items: { type: 'string' }, default: [] },
      released: { type: ['string', 'null'], format: 'date' },
      homepage: { type: 'string', maxLength: 200, default: '' },
      school_id: { type: ['integer', 'null'] },
      updated_at: { type: 'string', format: 'date-time' },
    },
  };
  /** What jsonSchema cannot say (modelSerializer reads it): Django's model field options. */
  static columns = {
    uuid: { editable: false },
    slug: { unique: true },
    price: { type: 'decimal', maxDigits: 8, decimalPlaces: 2, minValue: '0' },
    homepage: { type: 'url' },
    updated_at: { autoNow: true },
  } as const;
  static override relationMappings = () => ({
    school: { relation: Model.BelongsToOneRelation, modelClass: School, join: { from: 'products.school_id', to: 'schools.id' } },
  });
  /** Rows carry their school (`{id, name}` through SchoolSerializer), in replies and in change events. */
  static selectRelated = ['school'] as const;

  declare id: number;
  declare uuid: string;
  declare name: string;
  declare slug: string;
  declare price: string;
  declare rating: number | null;
  declare kind: 'book' | 'music' | 'video';
  declare tags: string[];
  declare released: string | null;
  declare homepage: string;
  declare school_id: number | null;
  declare updated_at: string;

  override $beforeInsert(): void {
    this.uuid ??= randomUUID();
    this.updated_at = storedNow();
  }

  override $beforeUpdate(): void {
    this.updated_at = storedNow();
  }
}
