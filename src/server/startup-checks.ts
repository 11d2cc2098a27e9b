/**
 * What the gateway checks before it listens, so a mistake in an app's definitions stops the start
 * with one line naming the stream (or GraphQL field), its consumer and the fix, instead of a 500 on
 * the first frame or a subscription that never hears anything: a generic consumer without a model or a
 * serializer, a model whose table is not in the database (or a runtime without a database), for a
 * stream or a resource GraphQL serves, and subscribe actions over a model that is not a LiveModel.
 */
import type { Model, ModelClass } from 'objection';
import type { ConsumerClass } from '../dcrf/consumer.js';
import { actionsOf } from '../dcrf/actions.js';
import { GenericAsyncAPIConsumer } from '../dcrf/generic.js';
import { notLiveProblem } from '../models/live-model-check.js';
import { hasTable } from '../db/knex.js';
import type { Resource } from '../resources/resource.js';
import type { Runtime } from '../runtime.js';

/** The gateway refused to start: `problems` lists every mistake found, the message the first (and how many more). */
export class StartupCheckError extends Error {
  constructor(readonly problems: string[]) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1).join(' ')})` : '';
    super(`${problems[0]}${more}`);
    this.name = 'StartupCheckError';
  }
}

type Generic = typeof GenericAsyncAPIConsumer;

/**
 * Checks every stream's consumer, and the resources GraphQL fields serve (`[field, resource]`, as
 * `GraphQLAdapter.servedResources` lists them), against `runtime`; throws a StartupCheckError listing
 * what is wrong. Consumers that are not generic (no model) pass as they are. A class served on several
 * streams is checked once, named by its first stream.
 */
export async function checkStreams(
  runtime: Runtime,
  streams: Iterable<[string, ConsumerClass]>,
  graphqlResources: Iterable<[string, Resource]> = [],
): Promise<void> {
  const problems: string[] = [];
  const seen = new Set<Function>();
  const tables = new Map<string, Promise<boolean>>();
  for (const [stream, consumer] of streams) {
    if (seen.has(consumer) || !(consumer.prototype instanceof GenericAsyncAPIConsumer)) continue;
    seen.add(consumer);
    problems.push(...(await consumerProblems(runtime, `Stream "${stream}" (${consumer.name})`, consumer as unknown as Generic, tables)));
  }
  for (const [field, resource] of graphqlResources) {
    const problem = await tableProblem(runtime, `GraphQL field ${field} (resource ${resource.name})`, resource.model, tables);
    if (problem) problems.push(problem);
  }
  if (problems.length) throw new StartupCheckError(problems);
}

async function consumerProblems(
  runtime: Runtime,
  label: string,
  consumer: Generic,
  tables: Map<string, Promise<boolean>>,
): Promise<string[]> {
  const problems: string[] = [];
  if (
    !consumer.resource &&
    !consumer.serializerClass &&
    consumer.prototype.getSerializer === GenericAsyncAPIConsumer.prototype.getSerializer
  ) {
    problems.push(`${label} has no serializer: set static serializerClass = YourSerializer (or static resource = a Resource).`);
  }
  if (!consumer.resource && !consumer.queryset) {
    problems.push(`${label} has no model: set static queryset = YourModel (or static resource = a Resource).`);
    return problems;
  }
  let model: ModelClass<Model>;
  try {
    model = consumer.modelClass();
  } catch (error) {
    problems.push(`${label}: its queryset failed: ${(error as Error)?.message ?? String(error)}.`);
    return problems;
  }
  // A resource of its own making that serves no model class (a stand-in): nothing more to check.
  if (typeof model !== 'function') return problems;
  const subscriptions = [...actionsOf(consumer).keys()].filter((name) => name.startsWith('subscribe'));
  if (subscriptions.length) {
    const problem = notLiveProblem(model, `${label} (${subscriptions.join(', ')})`);
    if (problem) problems.push(problem);
  }
  const problem = await tableProblem(runtime, label, model, tables);
  if (problem) problems.push(problem);
  return problems;
}

/** What is wrong with `model`'s table for `label`: no database at all, or no such table in it. */
async function tableProblem(
  runtime: Runtime,
  label: string,
  model: ModelClass<Model>,
  tables: Map<string, Promise<boolean>>,
): Promise<string | undefined> {
  if (typeof model !== 'function') return undefined;
  if (!runtime.hasDatabase) {
    return `${label} uses the model ${model.name}, but the runtime has no database: create it with Runtime.create({ knex }).`;
  }
  const table = model.tableName;
  let exists = tables.get(table);
  if (!exists) tables.set(table, (exists = hasTable(runtime.knex, table)));
  if (await exists) return undefined;
  return `${label}: the table "${table}" of the model ${model.name} does not exist in the database: run the app's migrations (or fix ${model.name}.tableName).`;
}
