/**
 * The `Product` GraphQL fields (docs/demo.md): the same resource as the DCRF `products` stream, field
 * names in camelCase (`updatedAt`, `priceWithTax`; inputs take `schoolId`), the DRF scalars showing what
 * the stream shows, and DRF's messages in `extensions.fields` under the GraphQL input names.
 */
import { ValidationError, type FieldErrors } from '../errors.js';
import { asCaller, bindResource, type ResolverMap } from '../graphql/bind.js';
import type { GraphQLContext } from '../graphql/engine.js';
import { drfScalarResolvers } from '../graphql/scalars.js';
import { resourceCall } from '../resources/resource.js';
import type { Row } from '../serializers/row.js';
import { productResource } from './products.js';

const camel = (key: string) => key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
const snake = (key: string) => key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** A serialized product as the GraphQL `Product` type reads it. */
export function productToGraphQL(row: Row): Row {
  const out: Row = {};
  for (const key in row) out[camel(key)] = row[key];
  return out;
}

/** GraphQL input (`schoolId`) → the serializer's keys (`school_id`). */
function productInput(input: unknown): Row {
  const data: Row = {};
  for (const [key, value] of Object.entries((input ?? {}) as Row)) data[snake(key)] = value;
  return data;
}

/** Runs a write, naming the fields of its validation errors as the GraphQL input does. */
async function withInputNames<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof ValidationError) || error.messages) throw error;
    const fields: FieldErrors = {};
    for (const [key, detail] of Object.entries(error.fields)) fields[camel(key)] = detail;
    throw new ValidationError(fields);
  }
}

type Args = Record<string, unknown>;

/** The resolvers of the product fields and of the DRF scalars. */
export function productResolvers(): ResolverMap[] {
  return [
    drfScalarResolvers() as unknown as ResolverMap,
    bindResource(productResource, {
      list: 'products',
      get: 'product',
      delete: 'deleteProduct',
      changed: 'productChanged',
      activity: 'productActivity',
      toGraphQL: productToGraphQL,
    }),
    {
      Mutation: {
        createProduct: (_: unknown, args: Args, ctx: GraphQLContext) =>
          asCaller(ctx, () =>
            withInputNames(async () =>
              productToGraphQL(await productResource.create(resourceCall(ctx.scope, args), productInput(args.input))),
            ),
          ),
        patchProduct: (_: unknown, args: Args, ctx: GraphQLContext) =>
          asCaller(ctx, () =>
            withInputNames(async () =>
              productToGraphQL(await productResource.patch(resourceCall(ctx.scope, args), args.id, productInput(args.input))),
            ),
          ),
      },
    },
  ];
}
