/**
 * The shared resolver layer. A resource (model + serializer + permissions + queryset) offers the
 * protocol-neutral operations that DCRF consumers and GraphQL resolvers both call, and raises typed
 * errors that each protocol maps to its own wire shape. Nothing above this layer touches knex.
 */
import type { Model, ModelClass, QueryBuilder, Transaction } from 'objection';
import { NotFound, PermissionDenied } from '../errors.js';
import { FastReader } from '../db/fast-read.js';
import { isInvalidValueError } from '../db/knex.js';
import type { ChangeMessage } from '../events/hub.js';
import { capturedRow } from '../events/after-commit.js';
import { getChangeHub } from '../events/current.js';
import { logger } from '../logger.js';
import { AllowAny, toPermissionList, type BasePermission, type PermissionLike } from '../permissions.js';
import type { ConnectionScope } from '../scope.js';
import { serializerInstance, type Row, type Serializer, type SerializerClass } from '../serializers/serializer.js';
import { resolveLimit, resolveOffset, type Page, type PaginationSettings } from './pagination.js';

export type AnyQuery = QueryBuilder<Model, Model[]>;

/**
 * Per-call customisation: a DCRF consumer passes itself (it implements these as DRF's generic view
 * hooks); GraphQL resolvers usually pass nothing.
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
  /** True when getQueryset/filterQueryset narrow the model's rows, so lookups must go through them. */
  readonly customQueryset?: boolean;
  /** True when the caller already checked the permission for this action (DCRF does, before dispatch). */
  readonly permissionChecked?: boolean;
}

export interface ResourceOptions {
  model: ModelClass<Model>;
  serializer: SerializerClass;
  permissions?: PermissionLike | readonly PermissionLike[];
  /** The column a `pk` lookup matches; default the model's id column. */
  lookupField?: string;
  /** Narrows every query of this resource for a scope (e.g. rows the user may see). */
  queryset?: (query: AnyQuery, scope: ConnectionScope) => AnyQuery;
  pagination?: PaginationSettings;
  /** A name for logs and the playground; default the model's name. */
  name?: string;
}

/** What a subscription handler receives for each event. */
export interface ResourceEvent {
  action: 'create' | 'update' | 'delete';
  pk: unknown;
  /** The row as the subscriber may see it; null when it left the subscriber's queryset. */
  row: Row | null;
  /** The message as it came off the PubSub (for memoizing one serialization per group). */
  message: ChangeMessage;
}

export type Unsubscribe = () => void;

const INTEGER_TEXT = /^\s*-?\d+\s*$/;

let fastReader: FastReader | undefined | null = null;

/** Sets up (or drops) the primary-key fast path for the current database. */
export function configureFastReads(reader: FastReader | undefined): void {
  fastReader?.close();
  fastReader = reader;
}

export class Resource {
  readonly model: ModelClass<Model>;
  readonly serializer: Serializer;
  readonly permission: BasePermission;
  readonly lookupField: string;
  readonly pagination: PaginationSettings;
  readonly name: string;
  private readonly scopeFilter: ResourceOptions['queryset'];
  private readonly integerLookup: boolean;
  private readonly allowsAll: boolean;

  constructor(options: ResourceOptions) {
    this.model = options.model;
    this.serializer = serializerInstance(options.serializer);
    this.permission = toPermissionList(options.permissions as PermissionLike[] | undefined);
    this.allowsAll = this.permission instanceof AllowAny;
    this.lookupField = options.lookupField ?? (this.model.idColumn as string);
    this.pagination = options.pagination ?? { defaultLimit: 100, maxLimit: 1000 };
    this.scopeFilter = options.queryset;
    this.name = options.name ?? this.model.name;
    const property = (this.model.jsonSchema?.properties ?? {})[this.lookupField] as { type?: unknown } | undefined;
    this.integerLookup = property?.type === 'integer' || (property === undefined && this.lookupField === 'id');
  }

  /** The change-record name of the model (topics use it). */
  get modelName(): string {
    return (this.model as unknown as { changeName?: string }).changeName ?? this.model.name;
  }

  // ---- permissions -------------------------------------------------------------------------

  /** Throws PermissionDenied unless the permission allows `action` for this scope. */
  async checkPermission(scope: ConnectionScope, action: string, args: Record<string, unknown> = {}, consumer?: unknown): Promise<void> {
    if (this.allowsAll) return;
    if (!(await this.permission.hasPermission(scope, { action, args, consumer }))) throw new PermissionDenied();
  }

  private async authorize(scope: ConnectionScope, action: string, hooks: OperationHooks, args: Record<string, unknown>): Promise<void> {
    if (!hooks.permissionChecked) await this.checkPermission(scope, action, args);
  }

  /** Whether an event about `object` may be sent to this scope. */
  async mayReceive(scope: ConnectionScope, action: string, object: Row, consumer?: unknown): Promise<boolean> {
    if (this.allowsAll) return true;
    try {
      return Boolean(await this.permission.hasPermission(scope, { action, args: {}, consumer, object }));
    } catch {
      return false;
    }
  }

  // ---- queries -------------------------------------------------------------------------------

  /** The queryset for a scope, with the hooks' narrowing applied. */
  queryset(scope: ConnectionScope, hooks: OperationHooks = {}, args: Record<string, unknown> = {}, trx?: Transaction): AnyQuery {
    let query = (hooks.getQueryset ? hooks.getQueryset(args) : (this.model.query() as AnyQuery));
    if (trx) query = query.transacting(trx) as AnyQuery;
    if (this.scopeFilter) query = this.scopeFilter(query, scope);
    if (hooks.filterQueryset) query = hooks.filterQueryset(query, args);
    return query;
  }

  private serializerFor(hooks: OperationHooks, args: Record<string, unknown>): Serializer {
    return hooks.getSerializer ? hooks.getSerializer(args) : this.serializer;
  }

  /** A lookup value the column could hold, or NotFound (a pk of the wrong type is a miss, as in DRF). */
  private lookupValue(pk: unknown): unknown {
    if (this.integerLookup) {
      if (typeof pk === 'number' && Number.isSafeInteger(pk)) return pk;
      if (typeof pk === 'string' && INTEGER_TEXT.test(pk)) {
        const parsed = parseInt(pk, 10);
        if (Number.isSafeInteger(parsed)) return parsed;
      }
      throw new NotFound();
    }
    if (typeof pk === 'string' || typeof pk === 'number') return pk;
    throw new NotFound();
  }

  /** The row for a lookup, through the queryset; NotFound when it is not there. */
  async getObject(scope: ConnectionScope, pk: unknown, hooks: OperationHooks = {}, args: Record<string, unknown> = {}, trx?: Transaction): Promise<Row> {
    const value = this.lookupValue(pk);
    if (!trx && fastReader && !this.scopeFilter && !hooks.customQueryset) {
      const row = fastReader.get(this.model.tableName, this.lookupField, value);
      if (!row) throw new NotFound();
      return row;
    }
    const table = this.model.tableName;
    const rows = (await this.queryset(scope, hooks, args, trx)
      .where(`${table}.${this.lookupField}`, value as any)
      .limit(1)
      .toKnexQuery()
      .catch((error: unknown) => {
        // A value the column cannot hold (PostgreSQL: integer out of range) is a miss, not a 500.
        throw isInvalidValueError(error) ? new NotFound() : error;
      })) as Row[];
    if (!rows[0]) throw new NotFound();
    return rows[0];
  }

  /** Every row of the queryset, ordered by primary key unless the queryset orders them. */
  async list(scope: ConnectionScope, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): Promise<Row[]> {
    await this.authorize(scope, 'list', hooks, args);
    // Nothing narrows or orders the rows: the whole table by primary key, without the query builder.
    const plain = hooks.customQueryset === false || (!hooks.getQueryset && !hooks.filterQueryset && !hooks.customQueryset);
    const rows =
      fastReader && plain && !this.scopeFilter && typeof this.model.idColumn === 'string'
        ? fastReader.all(this.model.tableName, this.model.idColumn)
        : await this.ordered(this.queryset(scope, hooks, args)).toKnexQuery();
    const serializer = this.serializerFor(hooks, args);
    return (rows as Row[]).map((row) => serializer.toRepresentation(row));
  }

  /** One page of the queryset, with the total count. */
  async page(scope: ConnectionScope, limit: unknown, offset: unknown, hooks: OperationHooks = {}, args: Record<string, unknown> = {}, settings = this.pagination): Promise<Page<Row>> {
    await this.authorize(scope, 'list', hooks, args);
    const realLimit = resolveLimit(limit, settings);
    const realOffset = resolveOffset(offset);
    const base = this.queryset(scope, hooks, args);
    const count = await base.clone().resultSize();
    const rows = count > realOffset ? ((await this.ordered(base).limit(realLimit).offset(realOffset).toKnexQuery()) as Row[]) : [];
    const serializer = this.serializerFor(hooks, args);
    return { count, results: rows.map((row) => serializer.toRepresentation(row)), limit: realLimit, offset: realOffset };
  }

  private ordered(query: AnyQuery): AnyQuery {
    if (query.has(/orderBy/)) return query;
    return query.orderBy(`${this.model.tableName}.${this.model.idColumn as string}`) as AnyQuery;
  }

  /** The serialized row for a lookup. */
  async retrieve(scope: ConnectionScope, pk: unknown, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): Promise<Row> {
    // The hot path: no await (and no microtask) when nothing is left to check.
    if (!hooks.permissionChecked && !this.allowsAll) await this.checkPermission(scope, 'retrieve', args);
    const row = await this.getObject(scope, pk, hooks, args);
    return this.serializerFor(hooks, args).toRepresentation(row);
  }

  // ---- writes --------------------------------------------------------------------------------

  /** Runs `work` in a transaction of the model's database. */
  transaction<T>(work: (trx: Transaction) => Promise<T>): Promise<T> {
    return this.model.transaction(work);
  }

  /**
   * The row after this resource's own write: the state the model hooks already read for the change
   * event (same transaction, same `SELECT *`), else a re-read. Only for writes made through the model:
   * a perform hook may write the row in ways the hooks do not see.
   */
  private async rowAfterWrite(trx: Transaction, pk: unknown): Promise<Row> {
    return capturedRow(trx, this.modelName, pk) ?? (await this.reread(trx, pk));
  }

  private async reread(trx: Transaction, pk: unknown): Promise<Row> {
    const row = await trx(this.model.tableName).where(this.model.idColumn as string, pk as any).first();
    if (!row) throw new NotFound();
    return row as Row;
  }

  /**
   * Values the serializer already validated, as a model instance that skips the jsonSchema check:
   * the serializer is the validation layer (DRF's save does not re-validate either), and a second,
   * stricter check would turn accepted input into a 500 (e.g. a blank email under `format: email`).
   */
  private validated(values: Row, patch: boolean): Model {
    return this.model.fromJson(values, { skipValidation: true, patch });
  }

  /** Validates and inserts a row; returns it serialized. */
  async create(scope: ConnectionScope, data: unknown, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): Promise<Row> {
    await this.authorize(scope, 'create', hooks, args);
    const serializer = this.serializerFor(hooks, args);
    return this.transaction(async (trx) => {
      const values = await serializer.validate(data, { trx });
      const created = hooks.performCreate
        ? await hooks.performCreate(values, trx)
        : await this.model.query(trx).insert(this.validated(values, false));
      const pk = created && typeof created === 'object' && '$id' in created ? (created as Model).$id() : undefined;
      const row = pk !== undefined ? (hooks.performCreate ? await this.reread(trx, pk) : await this.rowAfterWrite(trx, pk)) : (created as Row);
      return serializer.toRepresentation(row);
    });
  }

  /** Full (`partial` false) or partial update of one row; 404 before validation, as DRF does. */
  async update(scope: ConnectionScope, pk: unknown, data: unknown, partial: boolean, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): Promise<Row> {
    await this.authorize(scope, partial ? 'patch' : 'update', hooks, args);
    const serializer = this.serializerFor(hooks, args);
    return this.transaction(async (trx) => {
      const instance = await this.getObject(scope, pk, hooks, args, trx);
      const values = await serializer.validate(data, { trx, partial, instance });
      const id = instance[this.model.idColumn as string];
      const perform = partial ? hooks.performPatch : hooks.performUpdate;
      if (perform) await perform.call(hooks, instance, values, trx);
      else if (Object.keys(values).length) await this.model.query(trx).patch(this.validated(values, true)).where(this.model.idColumn as string, id as any);
      return serializer.toRepresentation(perform ? await this.reread(trx, id) : await this.rowAfterWrite(trx, id));
    });
  }

  /** Deletes one row. */
  async destroy(scope: ConnectionScope, pk: unknown, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): Promise<Row> {
    await this.authorize(scope, 'delete', hooks, args);
    return this.transaction(async (trx) => {
      const instance = await this.getObject(scope, pk, hooks, args, trx);
      if (hooks.performDelete) await hooks.performDelete(instance, trx);
      else await this.model.query(trx).delete().where(this.model.idColumn as string, instance[this.model.idColumn as string] as any);
      return instance;
    });
  }

  // ---- live data -----------------------------------------------------------------------------

  /**
   * Subscribes to one row. Resolves once the subscription is live (after checking the row exists);
   * each event passes the permission check again and is re-read through the queryset when the
   * queryset narrows the model (null row = it left the queryset).
   */
  async subscribeInstance(scope: ConnectionScope, pk: unknown, onEvent: (event: ResourceEvent) => void, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): Promise<Unsubscribe> {
    await this.authorize(scope, 'subscribe_instance', hooks, args);
    const row = await this.getObject(scope, pk, hooks, args);
    const id = row[this.model.idColumn as string];
    const hub = getChangeHub();
    return hub.subscribe(hub.instanceTopic(this.modelName, id), this.deliverer(scope, onEvent, hooks, args, true), this.modelName);
  }

  /** Subscribes to every change of the model. */
  async subscribeAll(scope: ConnectionScope, onEvent: (event: ResourceEvent) => void, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): Promise<Unsubscribe> {
    await this.authorize(scope, 'subscribe', hooks, args);
    const hub = getChangeHub();
    return hub.subscribe(hub.modelTopic(this.modelName), this.deliverer(scope, onEvent, hooks, args, false), this.modelName);
  }

  /** Subscribes to one group of a named observer of the model (actions are relative to the group). */
  async subscribeGroup(scope: ConnectionScope, observer: string, group: string | number, onEvent: (event: ResourceEvent) => void, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): Promise<Unsubscribe> {
    await this.authorize(scope, 'subscribe', hooks, args);
    const hub = getChangeHub();
    return hub.subscribe(hub.groupTopic(this.modelName, observer, group), this.deliverer(scope, onEvent, hooks, args, false), this.modelName);
  }

  /**
   * The topic handler of one subscription. Events that need no async check are handed on at once;
   * the others queue behind each other so a subscriber always sees a row's events in commit order.
   */
  private deliverer(scope: ConnectionScope, onEvent: (event: ResourceEvent) => void, hooks: OperationHooks, args: Record<string, unknown>, reread: boolean): (message: ChangeMessage) => void {
    const needsReread = reread && Boolean(this.scopeFilter || hooks.customQueryset);
    if (this.allowsAll && !needsReread) {
      return (message) => onEvent({ action: message.action, pk: message.pk, row: message.data, message });
    }
    let tail: Promise<void> = Promise.resolve();
    return (message) => {
      tail = tail
        .then(() => this.checkedEvent(scope, message, hooks, args, needsReread))
        .then((event) => {
          if (event) onEvent(event);
        })
        .catch((error: unknown) => {
          // A failing permission check or re-read drops this one event, never the subscription.
          logger.error('event delivery failed', { resource: this.name, pk: message.pk, error: String((error as Error)?.stack ?? error) });
        });
    };
  }

  private async checkedEvent(scope: ConnectionScope, message: ChangeMessage, hooks: OperationHooks, args: Record<string, unknown>, reread: boolean): Promise<ResourceEvent | undefined> {
    if (!(await this.mayReceive(scope, message.action, message.data, hooks))) return undefined;
    const event: ResourceEvent = { action: message.action, pk: message.pk, row: message.data, message };
    if (reread && message.action !== 'delete') {
      try {
        event.row = await this.getObject(scope, message.pk, hooks, args);
      } catch (error) {
        if (!(error instanceof NotFound)) throw error;
        event.row = null;
      }
    }
    return event;
  }
}
