/** The GraphQL schema over the same resource: queries, mutations and a live subscription of one todo. */
import { bindResource, changePositionResolvers, type SchemaDeclaration } from 'dcrf-gateway';
import { todoResource } from './todos.js';

export const schema: SchemaDeclaration = {
  typeDefs: `
    type Todo { id: ID! title: String! done: Boolean! owner_id: ID! }
    type TodoEvent { action: String! position: String! data: Todo! }
    input TodoInput { title: String! done: Boolean }
    input TodoPatch { title: String done: Boolean }
    type Query { todos: [Todo!]! todo(id: ID!): Todo changePosition: String! }
    type Mutation { createTodo(input: TodoInput!): Todo! patchTodo(id: ID!, input: TodoPatch!): Todo! deleteTodo(id: ID!): ID! }
    type Subscription { todoChanged(id: ID!, after: String): TodoEvent! }
  `,
  resolvers: [
    bindResource(todoResource, {
      list: 'todos',
      get: 'todo',
      create: 'createTodo',
      patch: 'patchTodo',
      delete: 'deleteTodo',
      changed: 'todoChanged',
    }),
    changePositionResolvers(),
  ],
};
