/**
 * The Todo app. `dcrf-gateway serve dist/app.js` serves it (flags and the environment set PORT,
 * DATABASE_URL, REDIS_URL, ...); `node dist/app.js` does the same without the CLI.
 *
 *   ws://127.0.0.1:8000/ws/todos      DCRF (also multiplexed on /ws)
 *   http://127.0.0.1:8000/graphql     GraphQL over HTTP and WebSocket
 *   http://127.0.0.1:8000/playground  both, in a browser
 */
import { pathToFileURL } from 'node:url';
import { createApp, defineApp } from 'dcrf-gateway';
import { authenticator } from './auth.js';
import { schema } from './graphql.js';
import { migrations } from './migrations.js';
import { TodoConsumer } from './todos.js';

const options = defineApp({
  database: process.env.DATABASE_URL ?? 'sqlite:./data/todos.sqlite3',
  streams: { todos: TodoConsumer },
  migrations,
  authenticator,
  schema,
});
export default options;

// Run directly (`node dist/app.js`): start it here. Imported by the CLI: the CLI starts it.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const app = await createApp(options);
  await app.listen({ shutdownOnSignals: true });
}
