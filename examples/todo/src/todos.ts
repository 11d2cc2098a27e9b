/**
 * The todos: one resource both protocols call (serializer, permissions), and the DCRF stream over it
 * with CRUD, live updates of a row and a custom action. Everyone signed in sees the board (`list`);
 * only a todo's owner may open, change, delete or follow it (`IsOwner`, DRF's `has_object_permission`).
 */
import {
  type ActionArgs,
  type ActionResult,
  action,
  BasePermission,
  BooleanField,
  CharField,
  type ConnectionScope,
  CreateModelMixin,
  CurrentUserDefault,
  DeleteModelMixin,
  GenericAsyncAPIConsumer,
  HiddenField,
  IsAuthenticated,
  ListModelMixin,
  ObserverModelInstanceMixin,
  PatchModelMixin,
  ReadOnlyField,
  Resource,
  RetrieveModelMixin,
  type Row,
  requirePk,
  Serializer,
} from 'dcrf-gateway';
import { Todo } from './models.js';

/** Owner only: the row's `owner` must be the caller. */
export class IsOwner extends BasePermission {
  override hasObjectPermission(scope: ConnectionScope, todo: Row): boolean {
    return scope.user != null && String(todo.owner) === String(scope.user.id);
  }
}

/** A todo as clients see it; the owner is never read from input: a create takes the caller. */
export class TodoSerializer extends Serializer {
  static override fields = {
    id: new ReadOnlyField(),
    title: new CharField({ maxLength: 200 }),
    done: new BooleanField({ required: false }),
    owner: new HiddenField({ default: new CurrentUserDefault() }),
    owner_id: new ReadOnlyField({ source: 'owner' }),
  };
}

export const todoResource = new Resource({ model: Todo, serializer: TodoSerializer, permissions: [IsAuthenticated, IsOwner] });

/** `/ws/todos`: list, retrieve, create, patch, delete, subscribe_instance, and `toggle {pk}`. */
export class TodoConsumer extends ObserverModelInstanceMixin(
  DeleteModelMixin(PatchModelMixin(CreateModelMixin(RetrieveModelMixin(ListModelMixin(GenericAsyncAPIConsumer))))),
) {
  static override resource = todoResource;

  /** Flips `done`; the owner rule applies as for a patch, and subscribers get the update event. */
  @action({ args: ['pk'] })
  async toggle(args: ActionArgs): Promise<ActionResult> {
    const todo = await this.getObject(args);
    const patched = await todoResource.patch(this.resourceCall(args), requirePk(args), { done: !todo.done });
    return [patched, 200];
  }
}
