/**
 * The shared resolver layer. A resource (model + serializer + permissions + queryset) offers the
 * protocol-neutral operations that DCRF consumers and GraphQL resolvers both call, each with one call
 * context (call.ts: the scope and its runtime, the action's arguments, the view's hooks), and raises
 * typed errors that each protocol maps to its own wire shape. Nothing above this layer touches knex;
 * every query runs on the call's runtime's database. Resources are runtime-independent definitions.
 */
import type { Knex } from 'knex';
import { Model, type ModelClass, type Transaction } from 'objection';
import { NotFound, PermissionDenied } from '../errors.js';
import { isInvalidValueError } from '../db/knex.js';
import { isPostgres } from '../db/connection.js';
import { readRow, readsRowsDirectly } from '../db/row-reads.js';
import type { ChangeMessage } from '../events/hub.js';
import type { LogEntry, Position } from '../events/change-log.js';
import type { RowGrouping } from '../events/groups.js';
import { WrittenRows } from '../models/live-model.js';
import { carriesRelated, embedRelated } from '../models/related.js';
import { AllowAny, checksObjects, mayReceiveEvent, toPermissionList, type BasePermission, type PermissionLike } from '../permissions.js';
import type { Runtime } from '../runtime.js';
import type { ConnectionScope } from '../scope.js';
import { serializerInstance, type Row, type Serializer, type SerializerClass, type ValidateOptions } from '../serializers/serializer.js';
import { narrowsRows, type AnyQuery, type ResourceCall } from './call.js';
import { columnsOf, directTransaction, directWriteApplies, runUpdate, type DirectStatements } from './direct-write.js';
import { resolveLimit, resolveOffset, type Page, type PaginationSettings } from './pagination.js';
import { ResourceEvents, type ResourceEvent, type ResourceEventHandler, type SubscriptionKind } from './resource-events.js';
import { toRowScope, type RowScope, type RowScopeOption } from './row-scope.js';

export { resourceCall, type AnyQuery, type OperationHooks, type ResourceCall, type ResourceCallOptions } from './call.js';
export type { ResourceEvent, ResourceEventHandler, ResourceEventSink, RowSource, SubscriptionKind } from './resource-events.js';

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

/** A subscription's closer; one made with `since` carries `position`, the head when it went live. */
export type Unsubscribe = (() => void) & { position?: Position };

const INTEGER_TEXT = /^\s*-?\d+\s*$/;

/** A write on the connection that has to run again in a knex transaction (see `onConnection`). */
const NEEDS_KNEX_TRANSACTION = Symbol('needs a knex transaction');

/** A model instance's columns as a plain row (its own enumerable properties), or undefined. */
function plainRow(model: Model | undefined): Row | undefined {
  return model ? { ...model } : undefined;
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
  private readonly events: ResourceEvents;
  /** The model's rows carry related rows (`selectRelated`): every read adds them. */
  private readonly related: boolean;
  /** The model's key is one column (composite keys take the query builder). */
  private readonly singleKey: boolean;
  /** Serializer classes whose validation asked for the write's transaction (see writeOnConnection). */
  private readonly serializersUsingTransaction = new WeakSet<object>();
  /** Whether Objection's models of this resource hold the database row as it is (see returnsRows); known on first use. */
  private rawRows: boolean | undefined;

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
    const property = this.model.jsonSchema?.properties?.[this.lookupField] as { type?: unknown } | undefined;
    this.integerLookup = property?.type === 'integer' || (property === undefined && this.lookupField === 'id');
    this.related = carriesRelated(this.model);
    this.singleKey = typeof this.model.idColumn === 'string';
    this.events = new ResourceEvents({
      name: this.name,
      rowScope: this.rowScope,
      opaque: Boolean(this.scopeFilter),
      allowsAll: this.allowsAll,
      mayReceive: (scope, action, object, consumer) => this.mayReceive(scope, action, object, consumer),
      getObject: (call, pk) => this.getObject(call, pk),
    });
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

  private async authorize(call: ResourceCall, action: string): Promise<void> {
    if (!call.permissionChecked) await this.checkPermission(call.scope, action, call.args);
  }

  /**
   * Throws PermissionDenied unless the call's permission (the resource's, or `call.permission`)
   * allows `action` on `object`, the row the operation read: DRF's `check_object_permissions`.
   */
  async checkObjectPermission(call: ResourceCall, action: string, object: Row): Promise<void> {
    const permission = call.permission ?? this.permission;
    if (!checksObjects(permission)) return;
    const request = { action, args: call.args, consumer: call.hooks, object };
    if (!(await permission.hasObjectPermission(call.scope, object, action, request))) throw new PermissionDenied();
  }

  /** Whether `call` has an object rule to satisfy (so the hot paths skip an await when none). */
  private checksObjects(call: ResourceCall): boolean {
    return checksObjects(call.permission ?? this.permission);
  }

  /** Whether an event about `object` may be sent to this scope: the permission, then its object rule. */
  async mayReceive(scope: ConnectionScope, action: string, object: Row, consumer?: unknown): Promise<boolean> {
    if (this.allowsAll) return true;
    return mayReceiveEvent(this.permission, scope, { action, args: {}, consumer, object });
  }

  // ---- queries -------------------------------------------------------------------------------

  /**
   * The queryset for a call, with the hooks' narrowing applied, on the call's database (or `trx`). The
   * connection is set before the hooks run (subqueries they build from the query inherit it) and after
   * (a hook may return a query of its own).
   */
  queryset(call: ResourceCall, trx?: Transaction): AnyQuery {
    const knex = trx ?? call.runtime.knex;
    const hooks = call.hooks;
    let query = hooks?.getQueryset ? hooks.getQueryset(call.args) : (this.model.query() as AnyQuery);
    query = query.transacting(knex as Transaction) as AnyQuery;
    if (this.rowScope) query = this.rowScope.filter(query, call.scope);
    if (this.scopeFilter) query = this.scopeFilter(query, call.scope);
    if (hooks?.filterQueryset) query = hooks.filterQueryset(query, call.args);
    return query.transacting(knex as Transaction) as AnyQuery;
  }

  private serializerFor(call: ResourceCall): Serializer {
    return call.hooks?.getSerializer ? call.hooks.getSerializer(call.args) : this.serializer;
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
  async getObject(call: ResourceCall, pk: unknown, trx?: Transaction): Promise<Row> {
    const value = this.lookupValue(pk);
    if (!trx && !this.narrowed && !narrowsRows(call)) {
      const reader = call.runtime.fastReader;
      if (reader) {
        const row = reader.get(this.model.tableName, this.lookupField, value);
        if (!row) throw this.notFound();
        return this.related ? this.withRelated([row], call.runtime.knex).then(() => row) : row;
      }
    }
    if (!this.narrowed && !narrowsRows(call) && this.directReads(call.runtime)) {
      const row = await this.readRow(trx ?? call.runtime.knex, this.lookupField, value);
      if (!row) throw this.notFound();
      if (this.related) await this.withRelated([row], trx ?? call.runtime.knex);
      return row;
    }
    const table = this.model.tableName;
    const rows = (await this.queryset(call, trx)
      .where(`${table}.${this.lookupField}`, value as any)
      .limit(1)
      .toKnexQuery()
      .catch((error: unknown) => {
        // A value the column cannot hold (PostgreSQL: integer out of range) is a miss, not a 500.
        throw isInvalidValueError(error) ? this.notFound() : error;
      })) as Row[];
    if (!rows[0]) throw this.notFound();
    if (this.related) await this.withRelated(rows, trx ?? call.runtime.knex);
    return rows[0];
  }

  /** Every row of the queryset, ordered by primary key unless the queryset orders them. */
  async list(call: ResourceCall): Promise<Row[]> {
    await this.authorize(call, 'list');
    // Nothing narrows or orders the rows: the whole table by primary key, without the query builder.
    const reader = !this.narrowed && !narrowsRows(call) && typeof this.model.idColumn === 'string' ? call.runtime.fastReader : undefined;
    const rows = reader
      ? reader.all(this.model.tableName, this.model.idColumn as string)
      : await this.ordered(this.queryset(call)).toKnexQuery();
    if (this.related) await this.withRelated(rows as Row[], call.runtime.knex);
    const serializer = this.serializerFor(call);
    return (rows as Row[]).map((row) => serializer.toRepresentation(row));
  }

  /** One page of the queryset, with the total count. */
  async page(call: ResourceCall, limit: unknown, offset: unknown, settings = this.pagination): Promise<Page<Row>> {
    await this.authorize(call, 'list');
    const realLimit = resolveLimit(limit, settings);
    const realOffset = resolveOffset(offset);
    const base = this.queryset(call);
    const count = await base.clone().resultSize();
    const rows = count > realOffset ? ((await this.ordered(base).limit(realLimit).offset(realOffset).toKnexQuery()) as Row[]) : [];
    if (this.related) await this.withRelated(rows, call.runtime.knex);
    const serializer = this.serializerFor(call);
    return { count, results: rows.map((row) => serializer.toRepresentation(row)), limit: realLimit, offset: realOffset };
  }

  private ordered(query: AnyQuery): AnyQuery {
    if (query.has(/orderBy/)) return query;
    return query.orderBy(`${this.model.tableName}.${this.model.idColumn as string}`) as AnyQuery;
  }

  /** The serialized row for a lookup. */
  async retrieve(call: ResourceCall, pk: unknown): Promise<Row> {
    // The hot path: no await (and no microtask) when nothing is left to check.
    if (!call.permissionChecked && !this.allowsAll) await this.checkPermission(call.scope, 'retrieve', call.args);
    const row = await this.getObject(call, pk);
    if (this.checksObjects(call)) await this.checkObjectPermission(call, 'retrieve', row);
    return this.serializerFor(call).toRepresentation(row);
  }

  // ---- writes --------------------------------------------------------------------------------

  /** Runs `work` in a transaction of the runtime's database. */
  transaction<T>(runtime: Runtime, work: (trx: Transaction) => Promise<T>): Promise<T> {
    return runtime.knex.transaction(work);
  }

  /**
   * Whether rows of this resource are read with a prepared statement of their own (db/row-reads.ts)
   * rather than through the query builder: on SQLite and PostgreSQL, for a single-column key.
   */
  private directReads(runtime: Runtime): boolean {
    return this.singleKey && readsRowsDirectly(runtime.knex);
  }

  /**
   * Whether an UPDATE of this model can hand back the row as a read-back would: on PostgreSQL (a
   * round trip less; SQLite's read-back is a cached statement on the same connection), for a model
   * whose rows Objection takes as they come (no column name mappers, JSON attributes or parsing of
   * its own), so the returned row is the row `SELECT *` reads.
   */
  private returnsRows(runtime: Runtime): boolean {
    this.rawRows ??=
      this.singleKey &&
      this.model.prototype.$parseDatabaseJson === Model.prototype.$parseDatabaseJson &&
      !(this.model as unknown as { getColumnNameMappers(): unknown }).getColumnNameMappers() &&
      (this.model as unknown as { getJsonAttributes(): string[] }).getJsonAttributes().length === 0;
    return this.rawRows && isPostgres(runtime.knex);
  }

  /** One row by `column` through a prepared statement; a value the column cannot hold is a miss. */
  private async readRow(knex: Knex | Transaction, column: string, value: unknown): Promise<Row | undefined> {
    try {
      return await readRow(knex as Knex, this.model.tableName, column, value);
    } catch (error) {
      // A value the column cannot hold (PostgreSQL: integer out of range) is a miss, not a 500.
      if (isInvalidValueError(error)) return undefined;
      throw error;
    }
  }

  private async reread(trx: Transaction, pk: unknown): Promise<Row> {
    const row = this.singleKey
      ? await this.readRow(trx, this.model.idColumn as string, pk)
      : await trx(this.model.tableName)
          .where(this.model.idColumn as string, pk as any)
          .first();
    if (!row) throw this.notFound();
    if (this.related) await this.withRelated([row], trx);
    return row as Row;
  }

  /** Adds the related rows the model carries (its `selectRelated`) to rows read for a reply. */
  private withRelated(rows: Row[], knex: Knex): Promise<void> {
    return embedRelated(this.model, rows, knex);
  }

  /**
   * Values the serializer already validated, as a model instance that skips the jsonSchema check:
   * the serializer is the validation layer (DRF's save does not re-validate either), and a second,
   * stricter check would turn accepted input into a 500 (e.g. a blank email under `format: email`).
   */
  private validated(values: Row, patch: boolean): Model {
    return this.model.fromJson(values, { skipValidation: true, patch });
  }

  /**
   * Validates and inserts a row; returns it serialized. The reply is the row the model hooks read for
   * the change event (same transaction, same `SELECT *`), else re-read; always re-read after a
   * `performCreate`, which may write the row in ways the hooks do not see.
   */
  async create(call: ResourceCall, data: unknown): Promise<Row> {
    await this.authorize(call, 'create');
    const serializer = this.serializerFor(call);
    const performCreate = call.hooks?.performCreate;
    if (!performCreate && directWriteApplies(call.runtime, this.model, 'insert') && this.writesOnConnection(serializer)) {
      const created = await this.onConnection(call, serializer, async (db, validate, logged) => {
        const values = await validate(data, {});
        if (this.createWith) Object.assign(values, this.createWith(call.scope));
        const insert = columnsOf(this.validated(values, false), db.dialect);
        // A value only the query builder can write (a raw expression, JSON): the ORM path writes it.
        if (!insert) throw NEEDS_KNEX_TRANSACTION;
        const row = await db.insert(this.model.tableName, insert);
        logged('create', row[this.model.idColumn as string]);
        return serializer.toRepresentation(row);
      });
      if (created !== NEEDS_KNEX_TRANSACTION) return created;
    }
    return this.transaction(call.runtime, async (trx) => {
      const values = await serializer.runValidation(data, { trx, scope: call.scope });
      if (this.createWith) Object.assign(values, this.createWith(call.scope));
      const written = new WrittenRows();
      const created = performCreate
        ? await performCreate.call(call.hooks, values, trx)
        : await this.model.query(trx).context(written.context).insert(this.validated(values, false));
      const pk = created && typeof created === 'object' && '$id' in created ? (created as Model).$id() : undefined;
      const row = pk !== undefined ? (written.get(pk) ?? (await this.reread(trx, pk))) : (created as Row);
      return serializer.toRepresentation(row);
    });
  }

  /** A full update (every required field present, like PUT); 404 before validation, as DRF does. */
  update(call: ResourceCall, pk: unknown, data: unknown): Promise<Row> {
    return this.write(call, pk, data, false);
  }

  /** A partial update (absent fields keep their values); 404 before validation, as DRF does. */
  patch(call: ResourceCall, pk: unknown, data: unknown): Promise<Row> {
    return this.write(call, pk, data, true);
  }

  private async write(call: ResourceCall, pk: unknown, data: unknown, partial: boolean): Promise<Row> {
    await this.authorize(call, partial ? 'patch' : 'update');
    const serializer = this.serializerFor(call);
    const perform = partial ? call.hooks?.performPatch : call.hooks?.performUpdate;
    const direct = !perform && !this.narrowed && !narrowsRows(call) && directWriteApplies(call.runtime, this.model, 'update');
    if (direct && this.writesOnConnection(serializer)) {
      const written = await this.writeOnConnection(call, pk, data, partial, serializer);
      if (written !== NEEDS_KNEX_TRANSACTION) return written;
    }
    let wroteDirectly = false;
    const reply = await this.transaction(call.runtime, async (trx) => {
      const instance = await this.getObject(call, pk, trx);
      // Before validation, as DRF's get_object checks it: a refused caller learns nothing of the input rules.
      if (this.checksObjects(call)) await this.checkObjectPermission(call, partial ? 'patch' : 'update', instance);
      const values = await serializer.runValidation(data, { trx, partial, instance, scope: call.scope });
      const id = instance[this.model.idColumn as string];
      const written = new WrittenRows();
      let returned: Row | undefined;
      if (perform) await perform.call(call.hooks, instance, values, trx);
      else if (Object.keys(values).length) {
        const model = this.validated(values, true);
        // SQLite, a model the database captures and nothing of its own around the write: the UPDATE alone.
        const update = direct && !isPostgres(call.runtime.knex) ? columnsOf(model) : undefined;
        if (update) {
          if (update.columns.length) await runUpdate(trx, this.model.tableName, this.model.idColumn as string, id, update);
          wroteDirectly = true;
        } else {
          const query = this.model
            .query(trx)
            .context(written.context)
            .patch(model)
            .where(this.model.idColumn as string, id as any);
          // PostgreSQL: the UPDATE returns the row it left, one round trip instead of a read-back.
          if (this.returnsRows(call.runtime)) returned = plainRow(((await query.returning('*')) as unknown as Model[])[0]);
          else await query;
        }
      }
      return serializer.toRepresentation(written.get(id) ?? returned ?? (await this.reread(trx, id)));
    });
    // The trigger's log entry reaches this process's subscribers now, not at the feed's next poll.
    if (wroteDirectly) call.runtime.hub.catchUp();
    return reply;
  }

  /**
   * Whether this resource lets a write that `directWriteApplies` to (a model the database captures with
   * nothing of its own around that operation, on a database that allows it: direct-write.ts) run as one
   * statement in a transaction straight on the connection (`onConnection`): one key column, nothing
   * related embedded, `transaction` not overridden, and a serializer not yet seen asking its validation
   * context for the transaction. Callers check `directWriteApplies` themselves (a patch needs it for its
   * knex path too).
   */
  private writesOnConnection(serializer: Serializer | undefined): boolean {
    return (
      !this.related &&
      this.singleKey &&
      this.transaction === Resource.prototype.transaction &&
      !(serializer && this.serializersUsingTransaction.has(serializer.constructor))
    );
  }

  /** The row a direct write looks up; a value the column cannot hold (PostgreSQL: out of range) is a 404. */
  private async lookupOn(db: DirectStatements, column: string, value: unknown): Promise<Row> {
    let row: Row | undefined;
    try {
      row = (await db.read(this.model.tableName, column, value)) as Row | undefined;
    } catch (error) {
      if (isInvalidValueError(error)) throw this.notFound();
      throw error;
    }
    if (!row) throw this.notFound();
    return row;
  }

  /**
   * Runs a write in a transaction straight on a connection (`directTransaction`: BEGIN, the
   * statements, COMMIT), with no knex transaction object and no query builder: what the knex path
   * does, without their cost. `work` gets the statements, `validate` (the serializer's validation
   * with the call's scope) and `logged`, to call after its statement with the change's action and key:
   * on SQLite the entry the table's trigger logged is read before COMMIT and published after it, as the
   * ORM path publishes its records, instead of waking the feed to read the log (PostgreSQL's trigger
   * appends at COMMIT: the feed is woken).
   *
   * Validation gets no transaction: a serializer whose validation asks for `context.trx` (a uniqueness
   * check, a related-row lookup, a `validate` of its own querying the database) makes this transaction
   * roll back and answers NEEDS_KNEX_TRANSACTION, for the caller to run the write again through knex;
   * that serializer class takes that path from then on. `work` may answer it too (throw it).
   */
  private async onConnection<T>(
    call: ResourceCall,
    serializer: Serializer,
    work: (
      db: DirectStatements,
      validate: (data: unknown, context: Omit<ValidateOptions, 'trx' | 'scope'>) => Promise<Row>,
      logged: (action: 'create' | 'update' | 'delete', pk: unknown) => void,
    ) => Promise<T>,
  ): Promise<T | typeof NEEDS_KNEX_TRANSACTION> {
    let askedForTransaction = false;
    let entry: LogEntry | undefined;
    const validate = async (data: unknown, options: Omit<ValidateOptions, 'trx' | 'scope'>): Promise<Row> => {
      const context: ValidateOptions = {
        ...options,
        scope: call.scope,
        get trx(): never {
          askedForTransaction = true;
          throw new Error("This validation needs the write's transaction: the write runs again in one.");
        },
      };
      try {
        return await serializer.runValidation(data, context);
      } finally {
        // Whatever validation made of the refusal (a field error, say), its result cannot stand.
        if (askedForTransaction) this.serializersUsingTransaction.add(serializer.constructor);
      }
    };
    let db: DirectStatements | undefined;
    const logged = (action: 'create' | 'update' | 'delete', pk: unknown) => {
      if (!db?.sqlite) return;
      entry = call.runtime.hub.loggedBy(db.sqlite, this.modelName);
      // Not the entry of this statement (the table's trigger gone, say): the feed reads the log instead.
      if (entry && (entry.model !== this.modelName || entry.pk !== pk || entry.action !== action)) entry = undefined;
    };
    let result: T;
    try {
      result = await directTransaction(call.runtime, async (statements) => {
        db = statements;
        const done = await work(statements, validate, logged);
        if (askedForTransaction) throw NEEDS_KNEX_TRANSACTION;
        return done;
      });
    } catch (error) {
      if (error === NEEDS_KNEX_TRANSACTION || askedForTransaction) return NEEDS_KNEX_TRANSACTION;
      throw error;
    }
    // The trigger's log entry reaches subscribers now, not at the feed's next poll.
    if (entry) call.runtime.hub.publishLogged(entry);
    else call.runtime.hub.catchUp();
    return result;
  }

  /** `write` as one UPDATE on the connection (`onConnection`): lookup, object permission, validation, UPDATE, read-back. */
  private writeOnConnection(
    call: ResourceCall,
    pk: unknown,
    data: unknown,
    partial: boolean,
    serializer: Serializer,
  ): Promise<Row | typeof NEEDS_KNEX_TRANSACTION> {
    const value = this.lookupValue(pk);
    const table = this.model.tableName;
    const idColumn = this.model.idColumn as string;
    return this.onConnection(call, serializer, async (db, validate, logged) => {
      const instance = await this.lookupOn(db, this.lookupField, value);
      if (this.checksObjects(call)) await this.checkObjectPermission(call, partial ? 'patch' : 'update', instance);
      const values = await validate(data, { partial, instance });
      const id = instance[idColumn];
      let row: Row | undefined = instance;
      if (Object.keys(values).length) {
        const update = columnsOf(this.validated(values, true), db.dialect);
        // A value only the query builder can write (a raw expression, JSON): the ORM path writes it.
        if (!update) throw NEEDS_KNEX_TRANSACTION;
        row = (await db.update(table, idColumn, id, update)) as Row | undefined;
        if (update.columns.length) logged('update', id);
      }
      if (!row) throw this.notFound();
      return serializer.toRepresentation(row);
    });
  }

  /** Deletes one row; returns it as it was. */
  async destroy(call: ResourceCall, pk: unknown): Promise<Row> {
    await this.authorize(call, 'delete');
    const performDelete = call.hooks?.performDelete;
    if (
      !performDelete &&
      !this.narrowed &&
      !narrowsRows(call) &&
      directWriteApplies(call.runtime, this.model, 'delete') &&
      this.writesOnConnection(undefined)
    ) {
      const value = this.lookupValue(pk);
      const idColumn = this.model.idColumn as string;
      const deleted = await this.onConnection(call, this.serializer, async (db, _validate, logged) => {
        const instance = await this.lookupOn(db, this.lookupField, value);
        if (this.checksObjects(call)) await this.checkObjectPermission(call, 'delete', instance);
        await db.delete(this.model.tableName, idColumn, instance[idColumn]);
        logged('delete', instance[idColumn]);
        return instance;
      });
      if (deleted !== NEEDS_KNEX_TRANSACTION) return deleted;
    }
    return this.transaction(call.runtime, async (trx) => {
      const instance = await this.getObject(call, pk, trx);
      if (this.checksObjects(call)) await this.checkObjectPermission(call, 'delete', instance);
      if (performDelete) await performDelete.call(call.hooks, instance, trx);
      else
        await this.model
          .query(trx)
          .delete()
          .where(this.model.idColumn as string, instance[this.model.idColumn as string] as any);
      return instance;
    });
  }

  // ---- live data -----------------------------------------------------------------------------

  /**
   * Subscribes to one row. Resolves once the subscription is live (after checking the row exists);
   * each event passes the permission check again and the row scope (null row = it left the
   * subscriber's view; changes and a delete out of it send nothing); an opaque queryset re-reads the row.
   * `onEvent` is a function, or a sink object whose `onResourceEvent` takes each event (one object
   * read per event instead of a closure's two: it counts at thousands of subscribers).
   */
  async subscribeInstance(call: ResourceCall, pk: unknown, onEvent: ResourceEventHandler): Promise<Unsubscribe> {
    await this.authorize(call, 'subscribe_instance');
    const hub = call.runtime.hub;
    const since = call.since;
    if (since !== undefined && since !== 'latest') await call.runtime.changeLog.check(since);
    const id = await this.instanceId(call, pk, since);
    return hub.subscribeFrom(
      hub.instanceTopic(this.modelName, id),
      this.events.deliverer(call, onEvent, 'instance'),
      this.modelName,
      since,
    );
  }

  /**
   * The primary key of the row an instance subscription is about. Resuming `since` a position, a row
   * that no longer exists is still one when the log has its changes after that position (the replay
   * ends with its delete), or a truncate of its model (the replay ends with the resync); otherwise NotFound.
   */
  private async instanceId(call: ResourceCall, pk: unknown, since: string | undefined): Promise<unknown> {
    let row: Row;
    try {
      row = await this.getObject(call, pk);
    } catch (error) {
      const log = call.runtime.hub.changeLog;
      if (!(error instanceof NotFound) || since === undefined || since === 'latest' || !log) throw error;
      if (this.lookupField !== this.model.idColumn) throw error;
      const id = this.lookupValue(pk);
      const after = await log.resolve(since);
      // A truncate is logged with a null pk: it names no row, and concerns them all.
      if ((await log.hasChangesOf(this.modelName, id, after)) || (await log.hasChangesOf(this.modelName, null, after))) return id;
      throw error;
    }
    if (this.checksObjects(call)) await this.checkObjectPermission(call, 'subscribe_instance', row);
    return row[this.model.idColumn as string];
  }

  /** Subscribes to every change of the rows the scope may see (actions relative to that view); `onEvent` as for `subscribeInstance`. */
  async subscribeAll(call: ResourceCall, onEvent: ResourceEventHandler): Promise<Unsubscribe> {
    await this.authorize(call, 'subscribe');
    const hub = call.runtime.hub;
    return hub.subscribeFrom(hub.modelTopic(this.modelName), this.events.deliverer(call, onEvent, 'broad'), this.modelName, call.since);
  }

  /**
   * Subscribes to one group of `grouping` (an observer's `groupsOf`): the model's changes that concern
   * the group, each with the action relative to the group, then to the scope's view.
   */
  async subscribeGroup(
    call: ResourceCall,
    grouping: RowGrouping,
    group: string | number,
    onEvent: (event: ResourceEvent) => void,
  ): Promise<Unsubscribe> {
    await this.authorize(call, 'subscribe');
    return call.runtime.hub.subscribeGroup(
      this.modelName,
      grouping,
      String(group),
      this.events.deliverer(call, onEvent, 'broad'),
      call.since,
    );
  }

  /** Whether a subscriber's view narrows the events (a row scope, an opaque queryset); false: all are sent as they come. */
  scopesEvents(call?: ResourceCall): boolean {
    return this.events.scopesEvents(call);
  }

  /**
   * A change as one subscriber may see it, or undefined when it may see nothing of it: judged in
   * memory by the row scope, then (only with an opaque queryset, the resource's or the hooks') re-read
   * for the subscriber, which makes the answer a promise. Permissions are not checked here.
   */
  eventFor(
    call: ResourceCall,
    message: ChangeMessage,
    kind: SubscriptionKind,
  ): ResourceEvent | undefined | Promise<ResourceEvent | undefined> {
    return this.events.eventFor(call, message, kind);
  }
}
