/**
 * The call context of a resource operation: who asks (the scope and its app's runtime), the action's
 * arguments, the view's hooks, and what the protocol already did. Built once per action by the protocol
 * that asks: a DCRF consumer passes itself as the hooks and says the permission was checked before
 * dispatch; a GraphQL resolver passes the field's arguments and, at most, a narrowing.
 */
import type { Model, QueryBuilder, Transaction } from 'objection';
import type { BasePermission } from '../permissions.js';
import type { Runtime } from '../runtime.js';
import type { ConnectionScope } from '../scope.js';
import type { Row, Serializer } from '../serializers/serializer.js';

export type AnyQuery = QueryBuilder<Model, Model[]>;

/**
 * A view's customisation (DRF's generic view hooks): a DCRF consumer implements them; GraphQL
 * resolvers usually pass none. Each hook receives the action's arguments.
 */
export interface OperationHooks {
  /** The base queryset (DRF `get_queryset`). */
  getQueryset?(args: Record<string, unknown>): AnyQuery;
  /** Narrows the queryset (DRF `filter_queryset`). */
  filterQueryset?(query: AnyQuery, args: Record<string, unknown>): AnyQuery;
  /** The serializer to use (DRF `get_serializer`). */
  getSerializer?(args: Record<string, unknown>): Serializer;
  performCreate?(values: Row, trx: Transaction): Promise<unknown>;
  performUpdate?(instance: Row, values: Row, trx: Transaction): Promise<unknown>;
  performPatch?(instance: Row, values: Row, trx: Transaction): Promise<unknown>;
  performDelete?(instance: Row, trx: Transaction): Promise<unknown>;
}

/** One resource operation's context. */
export interface ResourceCall {
  /** The app's runtime: the database the operation runs on, the hub its subscriptions listen to. */
  readonly runtime: Runtime;
  /** Who asks. */
  readonly scope: ConnectionScope;
  /** The action's arguments (a DCRF frame, a GraphQL field's arguments): what the hooks read. */
  readonly args: Record<string, unknown>;
  /** The view's hooks, if any. */
  readonly hooks?: OperationHooks;
  /** True when the caller already checked the permission for this action (DCRF does, before dispatch). */
  readonly permissionChecked?: boolean;
  /**
   * The permission whose object rule (`hasObjectPermission`) judges the rows this call reads, when it
   * is not the resource's own: a DCRF consumer's, which includes its resource's. Checked even when
   * `permissionChecked` (that one covers `hasPermission` only).
   */
  readonly permission?: BasePermission;
  /**
   * Whether the hooks narrow the model's rows, so lookups and events must go through them. Default:
   * whether the hooks have `getQueryset` or `filterQueryset` (a DCRF consumer says, per class, whether
   * it overrides its defaults).
   */
  readonly customQueryset?: boolean;
  /**
   * For a subscription: resume `since` a position of the change log (`"latest"`: live from now, with
   * positions). The subscription then replays the changes after it before the live ones.
   */
  readonly since?: string;
}

/** What `resourceCall` takes besides the scope and the arguments. */
export type ResourceCallOptions = Pick<ResourceCall, 'hooks' | 'permissionChecked' | 'customQueryset' | 'permission'>;

/** The call of an operation for `scope` (on its runtime), with the action's arguments and, optionally, hooks. */
export function resourceCall(scope: ConnectionScope, args: Record<string, unknown> = {}, options: ResourceCallOptions = {}): ResourceCall {
  return { runtime: scope.runtime, scope, args, ...options };
}

/** Whether a call's hooks narrow the model's rows (see `ResourceCall.customQueryset`). */
export function narrowsRows(call: ResourceCall): boolean {
  return call.customQueryset ?? Boolean(call.hooks?.getQueryset || call.hooks?.filterQueryset);
}
