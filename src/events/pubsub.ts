/**
 * Builds the change hub for a configuration: in-process PubSub by default; Redis when REDIS_URL is set.
 */
import { PubSub } from 'graphql-subscriptions';
import type { HubHandle } from './hub-handle.js';
import { ChangeHub } from './hub.js';

export type { HubHandle } from './hub-handle.js';

export interface HubOptions {
  /** Redis channel prefix: processes sharing a Redis and a prefix share events (default `dcrf-gateway:`). */
  redisPrefix?: string;
}

/** The hub for `redisUrl` (undefined = in-process). */
export async function createHubFor(redisUrl: string | undefined, options: HubOptions = {}): Promise<HubHandle> {
  if (redisUrl) {
    const { createRedisHub } = await import('./redis.js');
    return createRedisHub(redisUrl, { prefix: options.redisPrefix });
  }
  const hub = new ChangeHub(new PubSub());
  return { hub, healthy: async () => true, close: () => hub.drain() };
}
