/**
 * GenericAsyncAPIConsumer: DRF's generic view hooks (`queryset`, `serializerClass`, `lookupField`,
 * `getQueryset`, `filterQueryset`, `getObject`, `getSerializer`) over the shared resource layer.
 */
import type { Model, ModelClass } from 'objection';
import { NotFound, requiredKey } from '../errors.js';
import { AllowAny, allOf, type BasePermission } from '../permissions.js';
import { Resource, type AnyQuery, type OperationHooks, type ResourceCall } from '../resources/resource.js';
import type { PaginationSettings } from '../resources/pagination.js';
import { serializerInstance, type Row, type Serializer, type SerializerClass } from '../serializers/serializer.js';
import { AsyncAPIConsumer } from './consumer.js';
import type { ActionArgs } from './actions.js';

const resources = new WeakMap<Function, Resource>();
const customQuerysets = new WeakMap<Function, boolean>();
const servedPermissions = new WeakMap<Function, BasePermission>();

export class GenericAsyncAPIConsumer extends AsyncAPIConsumer implements OperationHooks {
  /** The model, or a function returning the base query (which marks the queryset as narrowed). */
  static queryset: ModelClass<Model> | (() => AnyQuery) | undefined;
  /** The serializer for output and input. */
  static serializerClass: SerializerClass | undefined;
  /** The column a `pk` lookup matches; default the model's id column. */
  static lookupField: string | undefined;
  /** Page sizes for the paginated list mixins. */
  static pagination: PaginationSettings = { defaultLimit: 100, maxLimit: 1000 };
  /** A shared resource to serve instead of building one from the settings above. */
  static resource: Resource | undefined;

  /**
   * The consumer's permissions and, for a shared `static resource`, the resource's own: both must
   * allow, before every action and event (a consumer cannot serve its resource more widely than
   * GraphQL does).
   */
  static override permission(): BasePermission {
    // Asked before every frame: decided once per class.
    let permission = servedPermissions.get(this);
    if (!permission) {
      const own = super.permission();
      const served = this.resource?.permission;
      if (!served || served === own || served instanceof AllowAny) permission = own;
      else permission = own instanceof AllowAny ? served : allOf(own, served);
      servedPermissions.set(this, permission);
    }
    return permission;
  }

  /** The model behind this consumer. */
  static modelClass(): ModelClass<Model> {
    const queryset = this.queryset;
    if (this.resource) return this.resource.model;
    if (!queryset) throw new Error(`${this.name} sets neither queryset nor resource`);
    if ('tableName' in queryset && 'query' in queryset) return queryset as ModelClass<Model>;
    return (queryset as () => AnyQuery)().modelClass() as ModelClass<Model>;
  }

  /** The resource this consumer's actions run on (built once per class). */
  static getResource(): Resource {
    let resource = resources.get(this);
    if (!resource) {
      resource =
        this.resource ??
        new Resource({
          model: this.modelClass(),
          serializer: this.serializerClass ?? missingSerializer(this.name),
          permissions: this.permission(),
          lookupField: this.lookupField,
          pagination: this.pagination,
          name: this.name,
        });
      resources.set(this, resource);
    }
    return resource;
  }

  get resource(): Resource {
    return (this.constructor as typeof GenericAsyncAPIConsumer).getResource();
  }

  /**
   * The resource call of one action: this consumer's scope (and its runtime), the action's arguments,
   * this consumer as the hooks, the permission already checked before dispatch.
   */
  resourceCall(args: ActionArgs = {}): ResourceCall {
    return {
      runtime: this.scope.runtime,
      scope: this.scope,
      args,
      hooks: this,
      permissionChecked: true,
      customQueryset: this.customQueryset,
      // The object rules are this consumer's (its own and its shared resource's), not only the resource's.
      permission: (this.constructor as typeof GenericAsyncAPIConsumer).permission(),
    };
  }

  /** True when this class narrows the model's rows (overrides its queryset hooks), so lookups and events go through them. */
  get customQueryset(): boolean {
    const ctor = this.constructor as typeof GenericAsyncAPIConsumer;
    let custom = customQuerysets.get(ctor);
    if (custom === undefined) {
      const proto = GenericAsyncAPIConsumer.prototype;
      custom =
        (typeof ctor.queryset === 'function' && !('tableName' in ctor.queryset)) ||
        ctor.prototype.getQueryset !== proto.getQueryset ||
        ctor.prototype.filterQueryset !== proto.filterQueryset;
      customQuerysets.set(ctor, custom);
    }
    return custom;
  }

  /** DRF `get_queryset`: the base query. */
  getQueryset(_args: ActionArgs = {}): AnyQuery {
    const ctor = this.constructor as typeof GenericAsyncAPIConsumer;
    const queryset = ctor.queryset;
    if (typeof queryset === 'function' && !('tableName' in queryset)) return (queryset as () => AnyQuery)();
    return ctor.modelClass().query(this.scope.runtime.knex) as AnyQuery;
  }

  /** DRF `filter_queryset`: narrow the query for this request. */
  filterQueryset(query: AnyQuery, _args: ActionArgs = {}): AnyQuery {
    return query;
  }

  /** DRF `get_serializer`. */
  getSerializer(_args: ActionArgs = {}): Serializer {
    const ctor = this.constructor as typeof GenericAsyncAPIConsumer;
    return ctor.serializerClass ? serializerInstance(ctor.serializerClass) : this.resource.serializer;
  }

  /**
   * DRF `get_object`: the row for `args.pk` through the queryset; 400 without `pk`, 404 when missing,
   * 403 when the permission's `hasObjectPermission` refuses it for the frame's action.
   */
  async getObject(args: ActionArgs): Promise<Row> {
    const call = this.resourceCall(args);
    const row = await this.resource.getObject(call, requirePk(args));
    await this.resource.checkObjectPermission(call, typeof args.action === 'string' ? args.action : 'retrieve', row);
    return row;
  }
}

/** `args.pk`: the protocol's 400 when missing, 404 when it is a list or object. */
export function requirePk(args: ActionArgs): unknown {
  if (!('pk' in args)) throw requiredKey('pk');
  const pk = args.pk;
  // A list or object names no row: 404, as DRF's get_object_or_404 answers a lookup's TypeError.
  if (pk !== null && typeof pk === 'object') throw new NotFound();
  return pk;
}

/** `args[key]`, or the protocol's 400 for a missing required key. */
export function requireArg(args: ActionArgs, key: string): unknown {
  if (!(key in args) || args[key] === undefined) throw requiredKey(key);
  return args[key];
}

function missingSerializer(name: string): never {
  throw new Error(`${name} has no serializerClass`);
}
