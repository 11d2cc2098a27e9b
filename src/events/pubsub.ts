/**
 * Builds the change hub for a configuration: in-process PubSub by default; Redis when REDIS_URL is set.
 */
import { PubSub } from 'graphql-subscriptions';
import { ChangeHub } from './hub.js';

export interface HubHandle {
  hub: ChangeHub;
  /** Whether the PubSub answers (for /healthz). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

/** The hub for `redisUrl` (undefined = in-process). */
export async function createHubFor(redisUrl: string | undefined): Promise<HubHandle> {
  if (redisUrl) {
    const { createRedisHub } = await import('./redis.js');
    return createRedisHub(redisUrl);
  }
  const hub = new ChangeHub(new PubSub());
  return { hub, healthy: async () => true, close: async () => undefined };
}
