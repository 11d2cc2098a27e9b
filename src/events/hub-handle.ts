/**
 * What building a change hub hands back, whichever PubSub is behind it (in-process or Redis): its
 * own module so that the builder (pubsub.ts) and the Redis hub (redis.ts) need not import each other.
 */
import type { ChangeHub } from './hub.js';

export interface HubHandle {
  hub: ChangeHub;
  /** Whether the PubSub answers (for /healthz). */
  healthy(): Promise<boolean>;
  /** Hands on what was published so far, then closes the PubSub's connections. */
  close(): Promise<void>;
}
