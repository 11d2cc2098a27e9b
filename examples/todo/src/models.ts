/** The Todo app's models: live models, so every write is a change event on both protocols. */
import { LiveModel } from 'dcrf-gateway';

/** A todo of one owner (a user id). */
export class Todo extends LiveModel {
  static override tableName = 'todos';
  static override jsonSchema = {
    type: 'object',
    required: ['title', 'owner'],
    properties: {
      id: { type: 'integer' },
      title: { type: 'string', minLength: 1, maxLength: 200 },
      done: { type: 'boolean' },
      owner: { type: 'integer' },
    },
  };
  declare id: number;
  declare title: string;
  declare done: boolean;
  declare owner: number;
}

/** A user and the hash of their token (the token itself is shown once, by `createtoken`). */
export class User extends LiveModel {
  static override tableName = 'users';
  declare id: number;
  declare username: string;
  declare token_hash: string;
}
