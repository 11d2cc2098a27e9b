/**
 * `GET /api/streams`: the registered streams and their actions, for the playground and for clients
 * that want to discover what a gateway serves.
 */
import type { ConsumerClass } from '../dcrf/consumer.js';
import { actionsOf } from '../dcrf/actions.js';
import { sendJson, type HttpRoute } from './gateway.js';

export interface StreamDescription {
  name: string;
  actions: Array<{ name: string; detached: boolean; args: string[] }>;
}

/** Describes streams from their consumer classes. */
export function describeStreams(streams: Record<string, ConsumerClass>): StreamDescription[] {
  return Object.entries(streams).map(([name, consumer]) => ({
    name,
    actions: [...actionsOf(consumer).values()].map((spec) => ({ name: spec.name, detached: spec.detached, args: spec.args })),
  }));
}

/** The HTTP route serving the description. */
export function streamsRoute(streams: Record<string, ConsumerClass>): HttpRoute {
  let cached: StreamDescription[] | undefined;
  return (request, response, url) => {
    if (url.pathname !== '/api/streams' || request.method !== 'GET') return false;
    cached ??= describeStreams(streams);
    sendJson(response, 200, { streams: cached });
    return true;
  };
}
