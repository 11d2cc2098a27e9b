/**
 * The Redis PubSub (graphql-redis-subscriptions over two ioredis connections of ours). Topics are
 * Redis channels, so a process receives only what its sockets subscribed to.
 *
 * Outages are handled so that nothing is lost silently:
 * - the publisher has no offline queue: while Redis is unreachable a publish fails at once and the
 *   hub counts the event as lost (`hub.stats.lost`) and logs it, instead of queueing it for a
 *   delivery that would come after subscribers may have missed it anyway;
 * - the subscriber resubscribes every channel when it reconnects (ioredis autoResubscribe) and logs
 *   how long it was away: what was published meanwhile did not reach this process's sockets;
 * - `healthy()` is false (so `/healthz` says 503) while either connection is down.
 *
 * A registry of the models each process observes (interest.ts) lets writes to models nobody listens
 * to skip the change capture, as they do in-process.
 */
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis, type RedisOptions } from 'ioredis';
import { ChangeHub } from './hub.js';
import { RedisModelInterest } from './interest.js';
import { UnobservedWrites } from './unobserved-writes.js';
import type { HubHandle } from './hub-handle.js';
import { logger } from '../logger.js';

/** The channel prefix when none is configured. */
export const DEFAULT_REDIS_PREFIX = 'dcrf-gateway:';

export interface RedisHubOptions {
  /** Prepended to every channel: processes sharing a prefix share events. */
  prefix?: string;
}

/** Reconnect quickly at first, then every 2 s at most, forever: a gateway outlives a Redis restart. */
function retryDelay(attempt: number): number {
  return Math.min(100 * attempt, 2000);
}

/** Logs a connection's losses and returns, with how long it was away. */
function watchConnection(
  role: 'publisher' | 'subscriber',
  client: Redis,
  isClosing: () => boolean,
  hooks: { down?: () => void; back?: () => void } = {},
): void {
  let downSince: number | undefined;
  let errorsLogged = 0;
  client.on('close', () => {
    if (isClosing() || downSince !== undefined) return;
    downSince = Date.now();
    errorsLogged = 0;
    hooks.down?.();
    logger.error(
      role === 'publisher'
        ? 'redis publisher disconnected: events of writes committed until it reconnects are lost'
        : 'redis subscriber disconnected: events published until it resubscribes do not reach this process',
      { client: role },
    );
  });
  client.on('ready', () => {
    if (downSince === undefined) return;
    const since = downSince;
    // ioredis resends SUBSCRIBE for every channel right after 'ready'; a PING queued behind them
    // answers once they are all live, so this line means "resubscribed", not just "connected".
    client.ping().then(
      () => {
        logger.warn(role === 'subscriber' ? 'redis reconnected and resubscribed' : 'redis reconnected', {
          client: role,
          downMs: Date.now() - since,
        });
        if (downSince === since) downSince = undefined;
        hooks.back?.();
      },
      () => undefined,
    );
  });
  client.on('error', (error: Error) => {
    // A failed reconnect attempt errors every retry; the first few say why, the rest add nothing.
    if (errorsLogged++ < 3) logger.warn('redis error', { client: role, error: error.message });
  });
}

/** How long /healthz waits for Redis to answer before calling it down. */
const HEALTH_TIMEOUT_MS = 1000;

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * graphql-redis-subscriptions fires UNSUBSCRIBE and PUNSUBSCRIBE without handling their promises: one
 * sent while Redis is away (a socket closing during an outage) or after close would reject unhandled
 * and end the process. Ours are handled here; PUNSUBSCRIBE is skipped, as topics never use patterns.
 */
function quietUnsubscribes(subscriber: Redis): void {
  const unsubscribe = subscriber.unsubscribe.bind(subscriber) as (...channels: string[]) => Promise<unknown>;
  Object.assign(subscriber, {
    unsubscribe: (...channels: string[]) => {
      const done = unsubscribe(...channels);
      done.catch((error: unknown) =>
        logger.debug('redis unsubscribe failed', { channels, error: String((error as Error)?.message ?? error) }),
      );
      return done;
    },
    punsubscribe: async () => 0,
  });
}

export async function createRedisHub(url: string, options: RedisHubOptions = {}): Promise<HubHandle> {
  const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
  const common: RedisOptions = { lazyConnect: true, retryStrategy: retryDelay };
  const publisher = new Redis(url, {
    ...common,
    connectionName: `${prefix}pub`,
    enableOfflineQueue: false,
    // A publish cut off by a dropped connection fails (counted lost) rather than being resent late.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
  });
  const subscriber = new Redis(url, {
    ...common,
    connectionName: `${prefix}sub`,
    // SUBSCRIBE sent during a short outage waits for the reconnect: the 201 then still means "live".
    enableOfflineQueue: true,
    maxRetriesPerRequest: 10,
  });
  let closing = false;
  let interest: RedisModelInterest | undefined;
  watchConnection('publisher', publisher, () => closing);
  // Announcements of other processes' interest may be missed while the subscriber is away.
  let hub: ChangeHub | undefined;
  // What was published while the subscriber was away is read from the change log at once.
  const back = () => {
    void interest?.refresh().then(() => interest?.reannounce());
    hub?.catchUp();
  };
  watchConnection('subscriber', subscriber, () => closing, { down: () => interest?.markStale(), back });
  try {
    await Promise.all([publisher.connect(), subscriber.connect()]);
  } catch (error) {
    publisher.disconnect();
    subscriber.disconnect();
    throw new Error(`Redis at ${url.replace(/\/\/[^@/]*@/, '//***@')} is unreachable: ${(error as Error).message}`);
  }
  quietUnsubscribes(subscriber);
  const engine = new RedisPubSub({ publisher, subscriber });
  // The interest registry waits for this process's unobserved writes, which the hub tracks: both share them.
  const unobservedWrites = new UnobservedWrites();
  interest = new RedisModelInterest(publisher, engine, prefix, (model) => unobservedWrites.settled(model));
  await interest.start();
  const created = new ChangeHub(engine, { prefix, inProcess: false, interest, unobservedWrites });
  hub = created;
  return {
    hub: created,
    async healthy() {
      if (publisher.status !== 'ready' || subscriber.status !== 'ready') return false;
      try {
        // The subscriber's PING waits behind any resubscription in flight: healthy = events flow again.
        const answers = Promise.all([publisher.ping(), subscriber.ping()]).then(
          ([published, subscribed]) => published === 'PONG' && Boolean(subscribed),
        );
        return await withTimeout(answers, HEALTH_TIMEOUT_MS, false);
      } catch {
        return false;
      }
    },
    async close() {
      await created.drain();
      await interest?.stop();
      closing = true;
      await Promise.all([publisher.quit().catch(() => publisher.disconnect()), subscriber.quit().catch(() => subscriber.disconnect())]);
    },
  };
}
