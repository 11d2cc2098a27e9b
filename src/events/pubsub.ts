/**
 * Builds the change hub for a configuration: in-process PubSub by default; Redis when a Redis URL is
 * given; or a PubSub engine of the caller's own.
 */
import { PubSub, type PubSubEngine } from 'graphql-subscriptions';
import type { HubHandle } from './hub-handle.js';
import { ChangeHub } from './hub.js';

export type { HubHandle } from './hub-handle.js';

export interface HubOptions {
  /** Redis channel prefix: processes sharing a Redis and a prefix share events (default `dcrf-gateway:`). */
  redisPrefix?: string;
  /** A PubSub engine of your own, used instead of Redis or the in-process one (a test double, another broker). */
  pubsub?: PubSubEngine;
  /** Whether every subscriber of `pubsub` lives in this process (default false: it may be shared). */
  pubsubInProcess?: boolean;
}

/** The hub for `redisUrl` (undefined = in-process), or for `options.pubsub` when given. */
export async function createHubFor(redisUrl: string | undefined, options: HubOptions = {}): Promise<HubHandle> {
  if (options.pubsub) return plainHandle(new ChangeHub(options.pubsub, { inProcess: options.pubsubInProcess ?? false }));
  if (redisUrl) {
    const { createRedisHub } = await import('./redis.js');
    return createRedisHub(redisUrl, { prefix: options.redisPrefix });
  }
  return plainHandle(new ChangeHub(new PubSub()));
}

/** A hub whose engine has no connections of ours to watch or close. */
function plainHandle(hub: ChangeHub): HubHandle {
  return { hub, healthy: async () => true, close: () => hub.drain() };
}
