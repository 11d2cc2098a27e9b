import { IsAuthenticated } from '../permissions.js';
import { action, type ActionArgs } from '../dcrf/actions.js';
import type { ConsumerClass } from '../dcrf/consumer.js';
import { AsyncAPIConsumer } from '../dcrf/consumer.js';
import { GenericAsyncAPIConsumer, requireArg } from '../dcrf/generic.js';
import {
  CreateModelMixin,
  DeleteModelMixin,
  ListModelMixin,
  PaginatedModelListMixin,
  PatchModelMixin,
  RetrieveModelMixin,
  StreamedPaginatedListMixin,
  UpdateModelMixin,
} from '../dcrf/mixins.js';
import { modelObserver, ObserverModelInstanceMixin, observer } from '../dcrf/observers.js';
import { subscribedResult } from '../dcrf/positions.js';
import { keyText, STATUS, type ActionResult } from '../dcrf/protocol.js';
import { viewAsConsumer } from '../dcrf/view-as-consumer.js';
import type { SerializerClass } from '../serializers/serializer.js';
import { Classroom, Test } from './models.js';
import { classroomResource, schoolResource, testResource, thingResource, userResource } from './resources.js';
import { ClassroomSerializer, TestSerializer, ThingSerializer, ThingWithIdSerializer } from './serializers.js';
import { CHAT_OBSERVER, CLASSROOM_OBSERVER, chatGroup, classroomGroups, joinedChat, type JoinedChat } from './live.js';
import { NoteConsumer } from './notes.js';
import { ProductConsumer } from './products.js';
import { ManyObserverMixin } from '../dcrf/many-observer.js';

const CrudConsumer = ObserverModelInstanceMixin(
  DeleteModelMixin(PatchModelMixin(UpdateModelMixin(CreateModelMixin(RetrieveModelMixin(ListModelMixin(GenericAsyncAPIConsumer)))))),
);

/** `things`: Thing with `pk`, full CRUD, instance subscriptions and `subscribe_many`. */
export class ThingConsumer extends ManyObserverMixin(CrudConsumer, { filter: 'things' }) {
  static override resource = thingResource;
  static override serializerClass: SerializerClass = ThingSerializer;
}

/** `things_with_id`: the same consumer, with a serializer that says `id`. */
export class ThingWithIdConsumer extends ThingConsumer {
  static override serializerClass = ThingWithIdSerializer;
}

const testActivity = modelObserver<TestConsumer>(Test, { name: 'test_activity', serializer: TestSerializer });

/** `tests`: the seed's LiveConsumer: CRUD, instance subscriptions, `subscribe_activity`. */
export class TestConsumer extends CrudConsumer {
  static override resource = testResource;

  @action({ args: ['request_id', 'since'] })
  async subscribe_activity(args: ActionArgs): Promise<ActionResult> {
    const { position } = await testActivity.subscribe(this, args, requireArg(args, 'request_id'));
    return subscribedResult(position, STATUS.created);
  }

  @action({ args: ['request_id'] })
  async unsubscribe_activity(args: ActionArgs): Promise<ActionResult> {
    await testActivity.unsubscribe(this, args, args.request_id);
    return [null, STATUS.noContent];
  }
}

/** `users`: the seed's UserConsumer: authenticated only, paginated list, custom actions. */
export class UserConsumer extends ObserverModelInstanceMixin(RetrieveModelMixin(PaginatedModelListMixin(GenericAsyncAPIConsumer))) {
  static override permissionClasses = [IsAuthenticated];
  static override resource = userResource;
  static override pagination = { defaultLimit: 2, maxLimit: 100 };

  /** An async action: looks the user up, "sends" the email, answers `{}`. */
  @action({ args: ['pk', 'to'] })
  async send_email(args: ActionArgs): Promise<ActionResult> {
    await this.getObject(args);
    return [{}, STATUS.ok];
  }

  /** A plain action that echoes the pk it was given. */
  @action({ args: ['pk'] })
  publish(args: ActionArgs): ActionResult {
    return [{ pk: args.pk ?? null }, STATUS.ok];
  }

  /** The caller's own user. */
  @action({ args: [] })
  async me(): Promise<ActionResult> {
    return [await this.resource.retrieve(this.resourceCall(), this.scope.user?.id), STATUS.ok];
  }
}

/** `schools`: streamed pages (default limit 10) with `list_cancel`, retrieve, create. */
export class SchoolConsumer extends CreateModelMixin(RetrieveModelMixin(StreamedPaginatedListMixin(GenericAsyncAPIConsumer))) {
  static override resource = schoolResource;
  static override pagination = { defaultLimit: 10, maxLimit: 1000 };
}

const classroomChanges = modelObserver<ClassroomConsumer>(Classroom, {
  name: CLASSROOM_OBSERVER,
  serializer: ClassroomSerializer,
  groupsForSignal: classroomGroups,
  groupsForConsumer: (args) => {
    const groups: string[] = [];
    if (args.school_pk !== undefined) groups.push(`school__${keyText(args.school_pk)}`);
    if (args.classroom_pk !== undefined) groups.push(`pk__${keyText(args.classroom_pk)}`);
    return groups;
  },
});

/** `classrooms`: the seed's MyConsumer: group subscriptions by school and by classroom. */
export class ClassroomConsumer extends DeleteModelMixin(
  PatchModelMixin(CreateModelMixin(RetrieveModelMixin(ListModelMixin(GenericAsyncAPIConsumer)))),
) {
  static override resource = classroomResource;

  @action({ args: ['school_pk', 'since'] })
  async subscribe_to_classrooms_in_school(args: ActionArgs): Promise<ActionResult> {
    const school = requireArg(args, 'school_pk');
    const { position } = await classroomChanges.subscribe(this, { school_pk: school, since: args.since }, args.request_id ?? null);
    return subscribedResult(position, STATUS.created);
  }

  @action({ args: ['school_pk'] })
  async unsubscribe_from_classrooms_in_school(args: ActionArgs): Promise<ActionResult> {
    const school = requireArg(args, 'school_pk');
    await classroomChanges.unsubscribe(this, { school_pk: school }, args.request_id);
    return [null, STATUS.noContent];
  }

  @action({ args: ['classroom_pk', 'since'] })
  async subscribe_to_classroom(args: ActionArgs): Promise<ActionResult> {
    const classroom = requireArg(args, 'classroom_pk');
    const { position } = await classroomChanges.subscribe(this, { classroom_pk: classroom, since: args.since }, args.request_id ?? null);
    return subscribedResult(position, STATUS.created);
  }

  @action({ args: ['classroom_pk'] })
  async unsubscribe_from_classroom(args: ActionArgs): Promise<ActionResult> {
    const classroom = requireArg(args, 'classroom_pk');
    await classroomChanges.unsubscribe(this, { classroom_pk: classroom }, args.request_id);
    return [null, STATUS.noContent];
  }
}

const joinedChatObserver = observer<ChatConsumer, JoinedChat>(joinedChat, {
  name: CHAT_OBSERVER,
  groupsForSignal: (payload) => [chatGroup(payload.chat_id)],
  groupsForConsumer: (args) => [chatGroup(args.chat_id)],
});

/** `chat`: the seed's custom-signal consumer, no model. */
export class ChatConsumer extends AsyncAPIConsumer {
  @action({ args: ['chat_id'] })
  join_chat(args: ActionArgs): ActionResult {
    const chatId = requireArg(args, 'chat_id');
    joinedChat.send(this.scope.runtime, { username: this.scope.user?.username ?? 'anonymous', chat_id: chatId });
    return [null, STATUS.noContent];
  }

  @action({ args: ['chat_id'] })
  async subscribe_joined(args: ActionArgs): Promise<ActionResult> {
    requireArg(args, 'chat_id');
    await joinedChatObserver.subscribe(this, args, args.request_id ?? null);
    return [null, STATUS.created];
  }

  @action({ args: ['chat_id'] })
  async unsubscribe_joined(args: ActionArgs): Promise<ActionResult> {
    requireArg(args, 'chat_id');
    await joinedChatObserver.unsubscribe(this, args, args.request_id);
    return [null, STATUS.noContent];
  }
}

/** `hello`: an HTTP handler served as a consumer. */
export async function helloView(request: Request): Promise<Response> {
  let name = 'world';
  if (request.method === 'GET') name = new URL(request.url).searchParams.get('name') ?? name;
  else if (request.method === 'POST') {
    const body = (await request.json().catch(() => ({}))) as { name?: unknown };
    if (body && typeof body.name === 'string') name = body.name;
  } else return new Response(null, { status: 405 });
  return Response.json({ hello: name }, { status: request.method === 'POST' ? 201 : 200 });
}

export const HelloConsumer = viewAsConsumer(helloView, { mappedActions: { retrieve: 'GET', list: 'GET', create: 'POST' } });

/** The demo's streams by name. */
export const demoStreams: Record<string, ConsumerClass> = {
  things: ThingConsumer as unknown as ConsumerClass,
  things_with_id: ThingWithIdConsumer as unknown as ConsumerClass,
  tests: TestConsumer as unknown as ConsumerClass,
  users: UserConsumer as unknown as ConsumerClass,
  schools: SchoolConsumer as unknown as ConsumerClass,
  classrooms: ClassroomConsumer as unknown as ConsumerClass,
  chat: ChatConsumer as unknown as ConsumerClass,
  hello: HelloConsumer,
  notes: NoteConsumer as unknown as ConsumerClass,
  products: ProductConsumer as unknown as ConsumerClass,
};
