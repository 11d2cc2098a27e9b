/**
 * The process's change hub. Models find it here when they write; the gateway installs the one its
 * configuration asks for (in-process by default, Redis when REDIS_URL is set).
 */
import { PubSub } from 'graphql-subscriptions';
import { ChangeHub } from './hub.js';

let current: ChangeHub | undefined;

/** The hub model writes publish to; an in-process one until `setChangeHub` installs another. */
export function getChangeHub(): ChangeHub {
  current ??= new ChangeHub(new PubSub());
  return current;
}

/** Installs the hub every model write publishes to from now on. */
export function setChangeHub(hub: ChangeHub): void {
  current = hub;
}
