/**
 * `viewAsConsumer(handler)`: serves an HTTP request handler (fetch-style: Request → Response) as a
 * DCRF consumer, as DCRF's `view_as_consumer` does for Django views. Each mapped action becomes an
 * HTTP method; `query` becomes the query string and `data` the JSON body.
 */
import { MethodNotAllowed, APIError } from '../errors.js';
import { action, type ActionArgs, type ActionContext } from './actions.js';
import { AsyncAPIConsumer, type ConsumerClass } from './consumer.js';
import { keyText, type ActionResult } from './protocol.js';

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface ViewAsConsumerOptions {
  /** action name → HTTP method. Default: retrieve/list GET, create POST, update PUT, patch PATCH, delete DELETE. */
  mappedActions?: Record<string, string>;
  /** The path the handler sees; default `/`. */
  path?: string;
}

const DEFAULT_ACTIONS: Record<string, string> = {
  retrieve: 'GET',
  list: 'GET',
  create: 'POST',
  update: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
};

const FORWARDED_HEADERS = ['authorization', 'cookie', 'accept-language', 'user-agent'];

/** Builds a consumer class whose actions call `handler`. */
export function viewAsConsumer(handler: FetchHandler, options: ViewAsConsumerOptions = {}): ConsumerClass {
  const mapped = options.mappedActions ?? DEFAULT_ACTIONS;
  const path = options.path ?? '/';

  class ViewConsumer extends AsyncAPIConsumer {
    async callView(args: ActionArgs, context: ActionContext): Promise<ActionResult> {
      const method = mapped[context.action]!.toUpperCase();
      const url = new URL(path, 'http://gateway.internal');
      const query = args.query;
      if (query && typeof query === 'object' && !Array.isArray(query)) {
        for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
          for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, keyText(item));
        }
      }
      const headers = new Headers();
      for (const name of FORWARDED_HEADERS) {
        const value = this.scope.headers[name];
        if (typeof value === 'string') headers.set(name, value);
      }
      let body: string | undefined;
      if (method !== 'GET' && method !== 'HEAD' && args.data !== undefined) {
        body = JSON.stringify(args.data);
        headers.set('content-type', 'application/json');
      }
      const response = await handler(new Request(url, { method, headers, body, signal: context.signal }));
      if (response.status === 405) throw new MethodNotAllowed(context.action);
      const text = await response.text();
      let data: unknown = null;
      if (text) {
        try {
          data = JSON.parse(text);
        } catch {
          data = text;
        }
      }
      if (response.status >= 400) throw new APIError(response.status, Array.isArray(data) ? data : [data ?? response.statusText]);
      return [data, response.status];
    }
  }
  for (const name of Object.keys(mapped)) {
    // What the playground and /api/streams show: a query string for reads, a JSON body for writes.
    const bodyless = ['GET', 'HEAD'].includes(mapped[name]!.toUpperCase());
    const method = action({ name, args: bodyless ? ['query'] : ['data'] })(function (
      this: ViewConsumer,
      args: ActionArgs,
      context: ActionContext,
    ) {
      return this.callView(args, context);
    });
    Object.defineProperty(ViewConsumer.prototype, name, { value: method, writable: true, configurable: true });
  }
  return ViewConsumer as unknown as ConsumerClass;
}
