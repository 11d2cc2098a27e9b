/**
 * The demo app's models (demo-app.md): Thing, Test, User, School, Classroom, Note, and auth tokens.
 */
import { Model } from 'objection';
import { LiveModel } from '../models/live-model.js';

export class Thing extends LiveModel {
  static override tableName = 'things';
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
