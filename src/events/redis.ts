/**
 * The Redis PubSub engine (graphql-redis-subscriptions on ioredis): topics become Redis channels, so a
 * process receives only what its sockets subscribed to; ioredis resubscribes after a reconnect.
 */
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import { ChangeHub } from './hub.js';
import type { HubHandle } from './pubsub.js';
import { logger } from '../logger.js';

export async function createRedisHub(url: string): Promise<HubHandle> {
  const options = { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true };
  const publisher = new Redis(url, options);
  const subscriber = new Redis(url, options);
  for (const [name, client] of [['publisher', publisher], ['subscriber', subscriber]] as const) {
    client.on('error', (error: Error) => logger.warn('redis error', { client: name, error: error.message }));
    client.on('reconnecting', () => logger.warn('redis reconnecting', { client: name }));
    client.on('ready', () => logger.info('redis ready', { client: name }));
  }
  await Promise.all([publisher.connect(), subscriber.connect()]);
  const engine = new RedisPubSub({ publisher, subscriber });
  const hub = new ChangeHub(engine, 'dcrf-gateway:');
  hub.isLocalEngine = false;
  return {
    hub,
    async healthy() {
      if (publisher.status !== 'ready' || subscriber.status !== 'ready') return false;
      try {
        return (await publisher.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      await engine.close();
    },
  };
}
