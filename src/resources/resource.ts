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
import { scopedChange, toRowScope, type RowScope, type RowScopeOption } from './row-scope.js';

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
  /**
   * The rows a scope may see, as column equalities (`({ user }) => ({ owner: user?.id })`, `false` for
   * none) or a `RowScope` pair. Narrows every query, and every subscription's events are judged on the
   * row's state before and after the write without a query: a row entering the subscriber's view is a
   * `create`, one leaving it a `delete`, one it never sees sends nothing.
   */
  scope?: RowScopeOption;
  /**
   * Narrows every query of this resource for a scope, as an opaque function. Events cannot be judged
   * in memory then: creates and updates are re-read through it (one query per subscriber and event),
   * and a row that leaves it, or is deleted, is not announced to broad subscriptions (whether they
   * saw it cannot be known). Prefer `scope` where the rule is a few equalities.
   */
  queryset?: (query: AnyQuery, scope: ConnectionScope) => AnyQuery;
  /** Values every create takes from the caller, over what the client sent (DRF's `serializer.save(owner=...)`). */
  createWith?: (scope: ConnectionScope) => Row;
  /** The detail of this resource's 404 (default DCRF's `Not found`). */
  notFoundDetail?: string;
  pagination?: PaginationSettings;
  /** A name for logs and the playground; default the model's name. */
  name?: string;
}

/** Which subscription an event is judged for: one row's, or a topic of many rows (a model's, a group's). */
export type SubscriptionKind = 'instance' | 'broad';

/** What a subscription handler receives for each event. */
export interface ResourceEvent {
  /** As the subscriber sees it: a row that entered its view is a `create`, one that left it a `delete`. */
  action: 'create' | 'update' | 'delete';
  pk: unknown;
  /**
   * The state the subscriber may see: the row after the write (re-read through an opaque queryset),
   * the last visible state for a delete. Null only for an instance subscription whose row left the
   * subscriber's view (or was deleted out of it, or out of an opaque queryset).
   */
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
  /** The row scope judged in memory, if any. */
  readonly rowScope: RowScope | undefined;
  private readonly createWith: ResourceOptions['createWith'];
  private readonly notFoundDetail: string | undefined;
  /** True when a scope narrows the model's rows (the fast, unfiltered reads are off). */
  private readonly narrowed: boolean;
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
    this.rowScope = options.scope ? toRowScope(options.scope) : undefined;
    this.narrowed = Boolean(this.scopeFilter || this.rowScope);
    this.createWith = options.createWith;
    this.notFoundDetail = options.notFoundDetail;
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
    if (this.rowScope) query = this.rowScope.filter(query, scope);
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
      throw this.notFound();
    }
    if (typeof pk === 'string' || typeof pk === 'number') return pk;
    throw this.notFound();
  }

  /** This resource's 404. */
  notFound(): NotFound {
    return new NotFound(this.notFoundDetail);
  }

  /** The row for a lookup, through the queryset; NotFound when it is not there. */
  async getObject(scope: ConnectionScope, pk: unknown, hooks: OperationHooks = {}, args: Record<string, unknown> = {}, trx?: Transaction): Promise<Row> {
    const value = this.lookupValue(pk);
    if (!trx && fastReader && !this.narrowed && !hooks.customQueryset) {
      const row = fastReader.get(this.model.tableName, this.lookupField, value);
      if (!row) throw this.notFound();
      return row;
    }
    const table = this.model.tableName;
    const rows = (await this.queryset(scope, hooks, args, trx)
      .where(`${table}.${this.lookupField}`, value as any)
      .limit(1)
      .toKnexQuery()
      .catch((error: unknown) => {
        // A value the column cannot hold (PostgreSQL: integer out of range) is a miss, not a 500.
        throw isInvalidValueError(error) ? this.notFound() : error;
      })) as Row[];
    if (!rows[0]) throw this.notFound();
    return rows[0];
  }

  /** Every row of the queryset, ordered by primary key unless the queryset orders them. */
  async list(scope: ConnectionScope, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): Promise<Row[]> {
    await this.authorize(scope, 'list', hooks, args);
    // Nothing narrows or orders the rows: the whole table by primary key, without the query builder.
    const plain = hooks.customQueryset === false || (!hooks.getQueryset && !hooks.filterQueryset && !hooks.customQueryset);
    const rows =
      fastReader && plain && !this.narrowed && typeof this.model.idColumn === 'string'
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
    if (!row) throw this.notFound();
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
      if (this.createWith) Object.assign(values, this.createWith(scope));
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
   * each event passes the permission check again and the row scope (null row = it left the
   * subscriber's view; changes and a delete out of it send nothing); an opaque queryset re-reads the row.
   */
  async subscribeInstance(scope: ConnectionScope, pk: unknown, onEvent: (event: ResourceEvent) => void, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): Promise<Unsubscribe> {
    await this.authorize(scope, 'subscribe_instance', hooks, args);
    const row = await this.getObject(scope, pk, hooks, args);
    const id = row[this.model.idColumn as string];
    const hub = getChangeHub();
    return hub.subscribe(hub.instanceTopic(this.modelName, id), this.deliverer(scope, onEvent, hooks, args, 'instance'), this.modelName);
  }

  /** Subscribes to every change of the rows the scope may see (actions relative to that view). */
  async subscribeAll(scope: ConnectionScope, onEvent: (event: ResourceEvent) => void, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): Promise<Unsubscribe> {
    await this.authorize(scope, 'subscribe', hooks, args);
    const hub = getChangeHub();
    return hub.subscribe(hub.modelTopic(this.modelName), this.deliverer(scope, onEvent, hooks, args, 'broad'), this.modelName);
  }

  /** Subscribes to one group of a named observer of the model (actions relative to the group and the scope). */
  async subscribeGroup(scope: ConnectionScope, observer: string, group: string | number, onEvent: (event: ResourceEvent) => void, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): Promise<Unsubscribe> {
    await this.authorize(scope, 'subscribe', hooks, args);
    const hub = getChangeHub();
    return hub.subscribe(hub.groupTopic(this.modelName, observer, group), this.deliverer(scope, onEvent, hooks, args, 'broad'), this.modelName);
  }

  /** Whether a subscriber's view narrows the events (a row scope, an opaque queryset); false: all are sent as they come. */
  scopesEvents(hooks: OperationHooks = {}): boolean {
    return this.narrowed || Boolean(hooks.customQueryset);
  }

  /**
   * A change as one subscriber may see it, or undefined when it may see nothing of it: judged in
   * memory by the row scope, then (only with an opaque queryset, the resource's or the hooks') re-read
   * for the subscriber, which makes the answer a promise. Permissions are not checked here.
   */
  eventFor(scope: ConnectionScope, message: ChangeMessage, kind: SubscriptionKind, hooks: OperationHooks = {}, args: Record<string, unknown> = {}): ResourceEvent | undefined | Promise<ResourceEvent | undefined> {
    const event = this.judged(scope, message, kind);
    if (!event || (!this.scopeFilter && !hooks.customQueryset)) return event;
    return this.throughQueryset(scope, event, kind, hooks, args);
  }

  /** The row scope's judgement, without a query (the event as it came when there is no row scope). */
  private judged(scope: ConnectionScope, message: ChangeMessage, kind: SubscriptionKind): ResourceEvent | undefined {
    const event: ResourceEvent = { action: message.action, pk: message.pk, row: message.data, message };
    const rowScope = this.rowScope;
    if (!rowScope) return event;
    const visible = (row: Row) => rowScope.matches(row, scope);
    if (kind === 'broad') {
      const change = scopedChange(message, visible);
      return change && { ...event, action: change.action, row: change.row };
    }
    if (message.action !== 'delete') {
      if (visible(message.data)) return event;
      // Leaving the view is said once (null row: DCRF's 404 event); changes out of it say nothing.
      const wasVisible = message.action === 'create' ? false : message.before ? visible(message.before) : undefined;
      return wasVisible === false ? undefined : { ...event, row: null };
    }
    // A row deleted out of the subscriber's view is nothing to it; else the last state it could see.
    const seen = visible(message.data) ? message.data : message.before && visible(message.before) ? message.before : undefined;
    return seen && { ...event, row: seen };
  }

  /**
   * The event through an opaque queryset: creates and updates re-read for the subscriber. Whether it
   * could see a deleted row (or one that left) is unknowable: broad subscriptions hear nothing rather
   * than a delete of a row they may never have seen; an instance subscription (it saw the row when it
   * subscribed) hears of it without the row.
   */
  private async throughQueryset(scope: ConnectionScope, event: ResourceEvent, kind: SubscriptionKind, hooks: OperationHooks, args: Record<string, unknown>): Promise<ResourceEvent | undefined> {
    const unseen = kind === 'instance' ? { ...event, row: null } : undefined;
    if (event.action === 'delete' || event.row === null) return unseen;
    try {
      return { ...event, row: await this.getObject(scope, event.pk, hooks, args) };
    } catch (error) {
      if (!(error instanceof NotFound)) throw error;
      return unseen;
    }
  }

  /**
   * The topic handler of one subscription. Events that need no async check are handed on at once
   * (no permission to ask, nothing to re-read: the row scope is judged in memory); the others queue
   * behind each other so a subscriber always sees a row's events in commit order.
   */
  private deliverer(scope: ConnectionScope, onEvent: (event: ResourceEvent) => void, hooks: OperationHooks, args: Record<string, unknown>, kind: SubscriptionKind): (message: ChangeMessage) => void {
    if (this.allowsAll && !this.scopeFilter && !hooks.customQueryset) {
      if (!this.rowScope) return (message) => onEvent({ action: message.action, pk: message.pk, row: message.data, message });
      return (message) => {
        const event = this.judged(scope, message, kind);
        if (event) onEvent(event);
      };
    }
    let tail: Promise<void> = Promise.resolve();
    return (message) => {
      tail = tail
        .then(() => this.checkedEvent(scope, message, hooks, args, kind))
        .then((event) => {
          if (event) onEvent(event);
        })
        .catch((error: unknown) => {
          // A failing permission check or re-read drops this one event, never the subscription.
          logger.error('event delivery failed', { resource: this.name, pk: message.pk, error: String((error as Error)?.stack ?? error) });
        });
    };
  }

  private async checkedEvent(scope: ConnectionScope, message: ChangeMessage, hooks: OperationHooks, args: Record<string, unknown>, kind: SubscriptionKind): Promise<ResourceEvent | undefined> {
    // The in-memory judgement first and the re-read last: a refused event costs no query.
    const event = this.judged(scope, message, kind);
    if (!event || !(await this.mayReceive(scope, event.action, event.row ?? message.data, hooks))) return undefined;
    return this.scopeFilter || hooks.customQueryset ? this.throughQueryset(scope, event, kind, hooks, args) : event;
  }
}
