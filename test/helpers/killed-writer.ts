/**
 * A writer process that commits and dies before any other process hears of it: its runtime publishes
 * to a PubSub of its own (nobody else listens), it writes `COUNT` Things, each in its own
 * transaction, then SIGKILLs itself. Other processes can only learn of these changes from the change log.
 * Env: DATABASE_URL (migrated already), COUNT, NAME.
 */
import { PubSub } from 'graphql-subscriptions';
import { Model } from 'objection';
import { openDatabase } from '../../src/db/knex.js';
import { Thing } from '../../src/demo/models.js';
import { Runtime } from '../../src/runtime.js';

const knex = openDatabase(process.env.DATABASE_URL!);
Model.knex(knex);
// Not in-process: every write is captured (another process may listen), and logged.
await Runtime.create({ knex, pubsub: new PubSub(), pubsubInProcess: false });
for (let index = 0; index < Number(process.env.COUNT ?? 3); index++)
  await Thing.query().insert({ name: `${process.env.NAME ?? 'killed'}-${index}` });
process.kill(process.pid, 'SIGKILL');
