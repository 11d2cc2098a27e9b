/**
 * The demo's GraphQL schema: schema/demo.graphql bound to the demo's resources, its classroom groups
 * and its chat signal: the same topics the DCRF consumers read and write.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GraphQLSchema } from 'graphql';
import type { ChangeHub } from '../events/hub.js';
import { resourceCall } from '../resources/resource.js';
import { classroomResource, noteResource, schoolResource, testResource, thingResource, userResource } from './resources.js';
import { CHAT_OBSERVER, chatGroup, classroomGrouping, joinedChat, type JoinedChat } from './live.js';
// The DCRF consumers attach the chat observer to the signal; importing them makes sure a join is
// published to the chat topics below even where no DCRF stream is served.
import './consumers.js';
import { bindResource, buildGraphQLSchema, eventMapper, liveField, subscriptionCall, type GraphQLChangeEvent } from '../graphql/bind.js';
import { changePositionResolvers, readsModels } from '../graphql/positions.js';
import type { GraphQLContext } from '../graphql/engine.js';
import { eventSink } from '../graphql/resync.js';
import { createGraphQLAdapter, type GraphQLAdapterOptions, type GraphQLGatewayAdapter } from '../graphql/adapter.js';
import { demoRelationResolvers } from './graphql-relations.js';
import { productResolvers } from './products-graphql.js';

/** Where the demo's SDL lives, from src/ (tsx) or dist/src/ (built). */
function demoSdlPath(): string {
  for (const relative of ['../../schema/demo.graphql', '../../../schema/demo.graphql']) {
    const candidate = fileURLToPath(new URL(relative, import.meta.url));
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error('schema/demo.graphql not found');
}

/** The demo's SDL text. */
export function demoTypeDefs(): string {
  return fs.readFileSync(demoSdlPath(), 'utf8');
}

/** The topic of the DCRF chat observer's group for a chat. */
function chatTopic(hub: ChangeHub, chatId: unknown): string {
  return hub.signalTopic(`${joinedChat.name}/${CHAT_OBSERVER}`, chatGroup(chatId));
}

/**
 * A GraphQL ID arrives as a string; DCRF clients send chat ids with their JSON type (`7` or `"room1"`).
 * A join announces an integer-looking id as the number; a subscription listens to both spellings.
 */
function chatIdValue(id: string): string | number {
  return /^-?\d{1,15}$/.test(id) ? Number(id) : id;
}

type Args = Record<string, unknown>;

export function demoResolvers() {
  const classroomEvent = eventMapper(classroomResource);
  return [
    bindResource(thingResource, {
      list: 'things',
      get: 'thing',
      create: 'createThing',
      patch: 'patchThing',
      delete: 'deleteThing',
      changed: 'thingChanged',
      activity: 'thingActivity',
    }),
    bindResource(testResource, {
      page: 'tests',
      get: 'test',
      create: 'createTest',
      update: 'updateTest',
      patch: 'patchTest',
      delete: 'deleteTest',
      changed: 'testChanged',
      activity: 'testActivity',
    }),
    bindResource(userResource, { get: 'user', changed: 'userChanged', requireUser: true }),
    bindResource(schoolResource, { list: 'schools', get: 'school', create: 'createSchool' }),
    bindResource(classroomResource, { get: 'classroom', create: 'createClassroom', patch: 'patchClassroom', delete: 'deleteClassroom' }),
    bindResource(noteResource, {
      list: 'notes',
      get: 'note',
      create: 'createNote',
      patch: 'patchNote',
      delete: 'deleteNote',
      activity: 'noteActivity',
      requireUser: true,
    }),
    {
      Query: {
        me: readsModels([userResource.modelName], (_: unknown, _args: Args, ctx: GraphQLContext) =>
          ctx.scope.user ? userResource.retrieve(resourceCall(ctx.scope), ctx.scope.user.id).catch(() => null) : null,
        ),
      },
      Mutation: {
        joinChat: (_: unknown, args: Args, ctx: GraphQLContext) => {
          joinedChat.send(ctx.scope.runtime, {
            username: ctx.scope.user?.username ?? 'anonymous',
            chat_id: chatIdValue(String(args.chatId)),
          });
          return true;
        },
      },
      Subscription: {
        classroomActivity: liveField<Args, GraphQLChangeEvent>(async (ctx, args, push, fail) => {
          const deliver = eventSink(classroomEvent, push, fail);
          const groups: string[] = [];
          if (args.schoolId != null) groups.push(`school__${String(args.schoolId)}`);
          if (args.classroomId != null) groups.push(`pk__${String(args.classroomId)}`);
          const call = subscriptionCall(ctx, args);
          if (!groups.length) return classroomResource.subscribeAll(call, deliver);
          const closers: Array<() => void> = [];
          try {
            for (const group of groups) closers.push(await classroomResource.subscribeGroup(call, classroomGrouping, group, deliver));
          } catch (error) {
            for (const close of closers) close();
            throw error;
          }
          return closers;
        }),
        joinedChat: liveField<Args, { username: string; chatId: unknown }>(async (ctx, args, push) => {
          const id = String(args.chatId);
          const spellings = new Set<unknown>([id, chatIdValue(id)]);
          const onMessage = (message: { payload: JoinedChat }) =>
            push({ username: message.payload.username, chatId: message.payload.chat_id });
          const closers: Array<() => void> = [];
          const hub = ctx.scope.runtime.hub;
          for (const spelling of spellings) closers.push(await hub.subscribe(chatTopic(hub, spelling), onMessage));
          return closers;
        }),
      },
    },
    demoRelationResolvers(),
    changePositionResolvers(),
    ...productResolvers(),
  ];
}

let cached: GraphQLSchema | undefined;

/** The demo's executable schema (built once). */
export function demoSchema(): GraphQLSchema {
  cached ??= buildGraphQLSchema({ typeDefs: demoTypeDefs(), resolvers: demoResolvers() });
  return cached;
}

/** The demo's GraphQL adapter for the gateway (HTTP, graphql-transport-ws, legacy graphql-ws). */
export function createDemoGraphQLAdapter(options: Omit<GraphQLAdapterOptions, 'schema'> = {}): GraphQLGatewayAdapter {
  return createGraphQLAdapter({ schema: demoSchema(), ...options });
}
