/**
 * GraphQL scalars for DRF's field types: `Decimal` (DecimalField), `Date` (DateField), `DateTime`
 * (DateTimeField), `UUID` (UUIDField), `URL` (URLField) and `JSON` (JSONField, ListField, DictField).
 * Names, descriptions and JSON Schema come from graphql-scalars (`Decimal`, which it lacks, is
 * declared the same way); the values are the DCRF stream's, not graphql-scalars' own:
 * - output: resolvers return rows the serializer already showed (`"12.50"`, `"2024-01-02T10:00:00.123000Z"`),
 *   passed on as they are; a raw value (a JS Date, a number) is shown by the same field;
 * - input: the text (a Decimal literal `12.50` as its digits, never a float) goes to the serializer,
 *   which answers a bad value with DRF's message in `extensions.fields`, as on DCRF.
 */
import { GraphQLError, GraphQLScalarType, Kind, type GraphQLScalarTypeConfig, type ValueNode } from 'graphql';
import { GraphQLDate, GraphQLDateTime, GraphQLJSON, GraphQLURL, GraphQLUUID } from 'graphql-scalars';
import { DateField, DateTimeField } from '../serializers/fields/dates.js';
import { UUIDField } from '../serializers/fields/misc.js';
import { DecimalField } from '../serializers/fields/numbers.js';

type Show = (value: unknown) => unknown;

/** A scalar taking graphql-scalars' name, description and extensions, with the DCRF representation. */
function drfScalar(
  base: GraphQLScalarTypeConfig<unknown, unknown>,
  show: Show,
  literalKinds: readonly Kind[],
  numbers = false,
): GraphQLScalarType {
  const name = base.name;
  const text = (value: unknown): string => {
    if (typeof value === 'string') return value;
    if (numbers && typeof value === 'number' && Number.isFinite(value)) return String(value);
    throw new GraphQLError(
      `${name} cannot represent ${JSON.stringify(value)}: give it as ${numbers ? 'a string or a number' : 'a string'}`,
    );
  };
  return new GraphQLScalarType({
    name,
    description: base.description,
    specifiedByURL: base.specifiedByURL,
    extensions: base.extensions,
    serialize: (value) => (typeof value === 'string' ? value : show(value)),
    parseValue: text,
    parseLiteral: (ast: ValueNode) => {
      if (!literalKinds.includes(ast.kind)) throw new GraphQLError(`${name} cannot represent a ${ast.kind} literal`, { nodes: ast });
      return (ast as { value: string }).value;
    },
  });
}

const decimal = new DecimalField({ maxDigits: null, decimalPlaces: null });
const dateTime = new DateTimeField();
const date = new DateField();
const uuid = new UUIDField();

/** `Decimal`: DecimalField's text (`"12.50"`); input as a string or a number literal, read as its digits. */
export const DecimalScalar = drfScalar(
  {
    name: 'Decimal',
    description: 'An exact decimal number as text, such as "12.50": the digits DRF\'s DecimalField shows (COERCE_DECIMAL_TO_STRING).',
    extensions: { jsonSchema: { type: 'string', pattern: '^-?\\d+(\\.\\d+)?$' } },
  },
  (value) => decimal.toRepresentation(value),
  [Kind.STRING, Kind.INT, Kind.FLOAT],
  true,
);

/** `Date`: DateField's `YYYY-MM-DD`. */
export const DateScalar = drfScalar(GraphQLDate.toConfig(), (value) => date.toRepresentation(value), [Kind.STRING]);

/** `DateTime`: DateTimeField's ISO 8601 in UTC with `Z` (`2024-01-02T10:00:00.123456Z`, no fraction when it is zero). */
export const DateTimeScalar = drfScalar(GraphQLDateTime.toConfig(), (value) => dateTime.toRepresentation(value), [Kind.STRING]);

/** `UUID`: UUIDField's canonical lower-case form. */
export const UUIDScalar = drfScalar(GraphQLUUID.toConfig(), (value) => uuid.toRepresentation(value), [Kind.STRING]);

/** `URL`: URLField's text, as stored (graphql-scalars would normalize it through `new URL`). */
export const URLScalar = drfScalar(GraphQLURL.toConfig(), (value) => (value instanceof URL ? value.href : String(value)), [Kind.STRING]);

/** `JSON`: any JSON value, as JSONField shows it (graphql-scalars' own). */
export const JSONScalar = GraphQLJSON;

/** The six scalars as a resolver map for `buildGraphQLSchema` (declare them in your SDL: `scalar Decimal` ...). */
export function drfScalarResolvers(): Record<string, GraphQLScalarType> {
  return { Decimal: DecimalScalar, Date: DateScalar, DateTime: DateTimeScalar, UUID: UUIDScalar, URL: URLScalar, JSON: JSONScalar };
}
