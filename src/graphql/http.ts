/**
 * GraphQL over HTTP on /graphql (the GraphQL-over-HTTP spec, as graphql-http implements it): POST
 * with a JSON body, GET with the query string for queries (a mutation over GET is 405). The request
 * goes through the shared engine (cached parse + validate + limits) and the shared error masking.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHandler, type FormatError, type Request as HttpRequest } from 'graphql-http';
import { type execute, type ExecutionArgs, GraphQLError, OperationTypeNode } from 'graphql';
import { BodyTooLarge, readBody } from '../http-body.js';
import type { ConnectionScope } from '../scope.js';
import type { GraphQLEngine } from './engine.js';
import { formatError } from './errors.js';

export interface GraphQLHttpOptions {
  engine: GraphQLEngine;
  /** Largest request body in bytes; larger ones get 413. Default 1 MiB. */
  maxBodyBytes?: number;
}

interface RequestContext {
  scope: ConnectionScope;
}

export class GraphQLHttpHandler {
  private readonly handler: ReturnType<typeof createHandler<IncomingMessage, RequestContext>>;

  constructor(private readonly options: GraphQLHttpOptions) {
    const { engine } = options;
    this.handler = createHandler<IncomingMessage, RequestContext>({
      schema: engine.schema,
      // The engine's run: a query that selects `changePosition` takes the head before its fields run.
      execute: ((args: ExecutionArgs) => engine.run(args, OperationTypeNode.QUERY)) as typeof execute,
      onSubscribe: (request, params) => {
        const prepared = engine.operation(params, engine.context(request.context.scope));
        if (Array.isArray(prepared)) return prepared as readonly GraphQLError[];
        return (prepared as { args: any }).args;
      },
      // graphql-http hands plain Errors only for requests it cannot read (bad JSON, no query): the
      // client's mistake, said as such; everything from execution is a GraphQLError and is masked.
      formatError: ((error: Error) =>
        error instanceof GraphQLError
          ? formatError(error)
          : { message: error.message, extensions: { code: 'BAD_REQUEST', status: 400 } }) as unknown as FormatError,
    });
  }

  async handle(request: IncomingMessage, response: ServerResponse, scope: ConnectionScope): Promise<void> {
    let body: string | null = null;
    if (request.method === 'POST') {
      try {
        body = await readBody(request, this.options.maxBodyBytes ?? 1024 * 1024);
      } catch (error) {
        if (!(error instanceof BodyTooLarge)) throw error;
        response.writeHead(413, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
        response.end(
          JSON.stringify({ errors: [{ message: 'Request body too large.', extensions: { code: 'BAD_REQUEST', status: 413 } }] }),
        );
        return;
      }
    }
    const httpRequest: HttpRequest<IncomingMessage, RequestContext> = {
      url: request.url ?? '/graphql',
      method: request.method ?? 'GET',
      headers: request.headers,
      body,
      raw: request,
      context: { scope },
    };
    const [text, init] = await this.handler(httpRequest);
    response.writeHead(init.status, init.statusText, init.headers as Record<string, string> | undefined).end(text);
  }
}
