/**
 * One GraphQL operation over any of the three transports, raw: HTTP POST, graphql-transport-ws and
 * legacy graphql-ws (a fresh socket each), answering with the errors and data the server sent.
 */
import assert from 'node:assert/strict';
import { TestSocket, type TestApp } from './app.js';

export type GraphQLProtocol = 'http' | 'graphql-transport-ws' | 'graphql-ws';
export const GRAPHQL_PROTOCOLS: readonly GraphQLProtocol[] = ['http', 'graphql-transport-ws', 'graphql-ws'];

export interface GraphQLAnswer {
  errors: Array<{ message: string; locations?: Array<{ line: number; column: number }>; extensions?: { code?: string; status?: number } }>;
  data?: any;
}

/** Sends one operation over `protocol`; resolves with its first answer (errors empty when none). */
export async function operate(
  app: TestApp,
  protocol: GraphQLProtocol,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLAnswer> {
  if (protocol === 'http') {
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { errors?: GraphQLAnswer['errors']; data?: unknown };
    return { errors: body.errors ?? [], data: body.data };
  }
  const socket = await TestSocket.open(`${app.wsUrl}/graphql`, { protocols: [protocol] });
  try {
    socket.send({ type: 'connection_init', payload: {} });
    assert.equal((await socket.next()).type, 'connection_ack');
    const payload = { query, variables };
    socket.send(protocol === 'graphql-ws' ? { id: '1', type: 'start', payload } : { id: '1', type: 'subscribe', payload });
    let message = await socket.next(30_000);
    // The legacy protocol's keep-alive (`ka`) follows the ack.
    while (message.type === 'ka') message = await socket.next(30_000);
    if (message.type === 'error') return { errors: Array.isArray(message.payload) ? message.payload : [message.payload] };
    return { errors: message.payload.errors ?? [], data: message.payload.data };
  } finally {
    socket.close();
  }
}
