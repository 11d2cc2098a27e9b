/**
 * The GraphQL baseline: stock graphql-ws `useServer` on a `ws` server, graphql-subscriptions'
 * PubSub, and the demo schema's Thing subset (`thing(id)`, `patchThing`, `thingChanged(id)`) over
 * better-sqlite3 — what one would write by following the libraries' own guides.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { PubSub } from 'graphql-subscriptions';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { serveCommands } from '../lib/child.js';
import { usageCommands } from './usage.js';
import { openThingsDb } from './things-db.js';

const typeDefs = /* GraphQL */ `
  enum ChangeAction { CREATE UPDATE DELETE }
  type Thing { id: ID! name: String! counter: Int! }
  type ThingEvent { action: ChangeAction! data: Thing! }
  input ThingPatch { name: String counter: Int }
  type Query { thing(id: ID!): Thing }
  type Mutation { patchThing(id: ID!, input: ThingPatch!): Thing! }
  type Subscription { thingChanged(id: ID!): ThingEvent! }
`;

const things = openThingsDb('dcrf-bench-gql-');
const db = things.db;
const byId = db.prepare('SELECT id, name, counter FROM things WHERE id = ?');
// One listener per subscription on the topic: lift EventEmitter's leak warning (10 listeners).
const emitter = new EventEmitter();
emitter.setMaxListeners(0);
const pubsub = new PubSub({ eventEmitter: emitter });

type Thing = { id: number; name: string; counter: number };

const schema = makeExecutableSchema({
  typeDefs,
  resolvers: {
    Query: {
      thing: (_: unknown, args: { id: string }) => (byId.get(Number(args.id)) as Thing | undefined) ?? null,
    },
    Mutation: {
      patchThing: (_: unknown, args: { id: string; input: { name?: string; counter?: number } }) => {
        const id = Number(args.id);
        const current = byId.get(id) as Thing | undefined;
        if (!current) throw new Error('Not found');
        const next = { ...current, ...args.input };
        db.prepare('UPDATE things SET name = ?, counter = ? WHERE id = ?').run(next.name, next.counter, id);
        void pubsub.publish(`thing:${id}`, { thingChanged: { action: 'UPDATE', data: next } });
        return next;
      },
    },
    Subscription: {
      thingChanged: { subscribe: (_: unknown, args: { id: string }) => pubsub.asyncIterableIterator(`thing:${Number(args.id)}`) },
    },
  },
});

const server = http.createServer((_request, response) => response.writeHead(404).end());
const wss = new WebSocketServer({ server, path: '/graphql' });
useServer({ schema }, wss);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
serveCommands(
  {
    ...usageCommands,
    exit() {
      for (const ws of wss.clients) ws.terminate();
      things.close();
    },
  },
  { port: typeof address === 'object' && address ? address.port : 0 },
);
