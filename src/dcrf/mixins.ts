/**
 * The CRUD mixins: each one action of a few lines over the generic consumer's hooks, as DRF's are.
 * Compose them as functions: `class C extends ListModelMixin(RetrieveModelMixin(GenericAsyncAPIConsumer)) {}`.
 */
import { action, type ActionArgs, type ActionContext } from './actions.js';
import { type GenericAsyncAPIConsumer, requirePk } from './generic.js';
import { anchoredResult, readAnchor } from './positions.js';
import { STATUS, type ActionResult } from './protocol.js';
import { resolveLimit, resolveOffset } from '../resources/pagination.js';

type GenericClass = abstract new (...args: any[]) => GenericAsyncAPIConsumer;

/**
 * Every read below answers `"with_position": true` with a top-level `"position"`: the change log's head
 * taken before the read ran, so every change at or before it is in the data (docs/positions.md).
 */

/** `list`: every row of the queryset, 200. */
export function ListModelMixin<T extends GenericClass>(Base: T) {
  abstract class ListModel extends Base {
    @action({ args: ['with_position'] })
    async list(args: ActionArgs): Promise<ActionResult> {
      const anchor = readAnchor(this, args);
      const position = anchor && (await anchor);
      return anchoredResult(await this.resource.list(this.resourceCall(args)), STATUS.ok, position);
    }
  }
  return ListModel;
}

/** `list` with `limit`/`offset`: `{count, results, limit, offset}`, 200. */
export function PaginatedModelListMixin<T extends GenericClass>(Base: T) {
  abstract class PaginatedModelList extends Base {
    @action({ args: ['limit', 'offset', 'with_position'] })
    async list(args: ActionArgs): Promise<ActionResult> {
      const settings = (this.constructor as typeof GenericAsyncAPIConsumer).pagination;
      const anchor = readAnchor(this, args);
      const position = anchor && (await anchor);
      return anchoredResult(await this.resource.page(this.resourceCall(args), args.limit, args.offset, settings), STATUS.ok, position);
    }
  }
  return PaginatedModelList;
}

/**
 * `list` as a stream of pages (one 200 reply per page, same request_id) from `offset` to the end,
 * running detached; `list_cancel` stops every page still to come. The next page is read only once the
 * last one has left for the network, so a client that reads slowly slows the walk down. With
 * `with_position`, every page carries the position taken before the first page was read.
 */
export function StreamedPaginatedListMixin<T extends GenericClass>(Base: T) {
  abstract class StreamedPaginatedList extends Base {
    @action({ detached: true, args: ['limit', 'offset', 'with_position'] })
    async list(args: ActionArgs, context: ActionContext): Promise<ActionResult> {
      const settings = (this.constructor as typeof GenericAsyncAPIConsumer).pagination;
      const limit = resolveLimit(args.limit, settings);
      let offset = resolveOffset(args.offset);
      const call = this.resourceCall(args);
      const anchor = readAnchor(this, args);
      const position = anchor && (await anchor);
      for (;;) {
        const page = await this.resource.page(call, limit, offset, settings);
        if (context.signal.aborted) return undefined;
        offset += limit;
        // Also yields to the socket's other frames (a list_cancel) between pages.
        await this.replySent({ action: context.action, data: page, status: STATUS.ok, requestId: context.requestId, position });
        if (offset >= page.count || context.signal.aborted) return undefined;
      }
    }

    @action({ args: [] })
    async list_cancel(): Promise<ActionResult> {
      this.cancelDetached('list');
      return [null, STATUS.ok];
    }
  }
  return StreamedPaginatedList;
}

/** `retrieve {pk}`: the object, 200. */
export function RetrieveModelMixin<T extends GenericClass>(Base: T) {
  abstract class RetrieveModel extends Base {
    @action({ args: ['pk', 'with_position'] })
    async retrieve(args: ActionArgs): Promise<ActionResult> {
      const anchor = readAnchor(this, args);
      const position = anchor && (await anchor);
      return anchoredResult(await this.resource.retrieve(this.resourceCall(args), requirePk(args)), STATUS.ok, position);
    }
  }
  return RetrieveModel;
}

/** `create {data}`: the new object, 201. Override `performCreate(values, trx)` to change how it is saved. */
export function CreateModelMixin<T extends GenericClass>(Base: T) {
  abstract class CreateModel extends Base {
    @action({ args: ['data'] })
    async create(args: ActionArgs): Promise<ActionResult> {
      return [await this.resource.create(this.resourceCall(args), args.data), STATUS.created];
    }
  }
  return CreateModel;
}

/** `update {pk, data}`: a full update (required fields must be present), 200. */
export function UpdateModelMixin<T extends GenericClass>(Base: T) {
  abstract class UpdateModel extends Base {
    @action({ args: ['pk', 'data'] })
    async update(args: ActionArgs): Promise<ActionResult> {
      return [await this.resource.update(this.resourceCall(args), requirePk(args), args.data), STATUS.ok];
    }
  }
  return UpdateModel;
}

/** `patch {pk, data}`: a partial update, 200. */
export function PatchModelMixin<T extends GenericClass>(Base: T) {
  abstract class PatchModel extends Base {
    @action({ args: ['pk', 'data'] })
    async patch(args: ActionArgs): Promise<ActionResult> {
      return [await this.resource.patch(this.resourceCall(args), requirePk(args), args.data), STATUS.ok];
    }
  }
  return PatchModel;
}

/** `delete {pk}`: 204 with `data: null`. */
export function DeleteModelMixin<T extends GenericClass>(Base: T) {
  abstract class DeleteModel extends Base {
    @action({ args: ['pk'] })
    async delete(args: ActionArgs): Promise<ActionResult> {
      await this.resource.destroy(this.resourceCall(args), requirePk(args));
      return [null, STATUS.noContent];
    }
  }
  return DeleteModel;
}
