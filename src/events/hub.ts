/**
 * The change hub: turns committed change records into messages on PubSub topics (one per model, one
 * per row, one per observer group) and fans each topic out to the local handlers that asked for it.
 * One PubSub subscription per topic per process, however many sockets listen.
 */
import type { PubSubEngine } from 'graphql-subscriptions';
import { lastState, type ChangeAction, type ChangeRecord, type Row } from './records.js';
import { logger } from '../logger.js';
import { LostEventReporter } from './lost-events.js';
import type { ModelInterest } from './interest.js';
import { UnobservedWrites } from './unobserved-writes.js';

/** What a topic carries for one row's change. */
export interface ChangeMessage {
  model: string;
  /** Relative to the topic: a row that left a group is a `delete` there, one that entered is a `create`. */
  action: ChangeAction;
  pk: unknown;
  /** The row's new state, or its last state for a delete. */
  data: Row;
  before?: Row | null;
}

/** Names the groups a row belongs to, for one observer. */
export type GroupsForRow = (row: Row) => Iterable<string | number>;

export type TopicHandler = (payload: any) => void;

interface TopicState {
  handlers: Set<TopicHandler>;
  model: string | undefined;
  subscription: Promise<number>;
}

export interface HubStats {
  published: number;
  delivered: number;
  handlerErrors: number;
  /** Messages the PubSub refused (Redis unreachable): their subscribers never see them. */
  lost: number;
}

const groupFunctions = new Map<string, Map<string, GroupsForRow>>();

/**
 * Declares the groups an observer sorts a model's rows into. Declared at import time (observers are
 * module-level), so every process running the same code publishes to the same group topics.
 */
export function registerGroups(model: string, observer: string, groupsForRow: GroupsForRow): void {
  let byObserver = groupFunctions.get(model);
  if (!byObserver) {
    byObserver = new Map();
    groupFunctions.set(model, byObserver);
  }
  byObserver.set(observer, groupsForRow);
}

export class ChangeHub {
  private readonly topics = new Map<string, TopicState>();
  private readonly observedModels = new Map<string, number>();
  private readonly memos = new WeakMap<object, Map<unknown, unknown>>();
  readonly stats: HubStats = { published: 0, delivered: 0, handlerErrors: 0, lost: 0 };
  private inFlight = 0;
  private readonly drained: Array<() => void> = [];
  private readonly lostEvents = new LostEventReporter();
  /** Writes that began while nobody here listened to their model; new subscriptions wait for them. */
  readonly unobservedWrites = new UnobservedWrites();

  constructor(
    readonly engine: PubSubEngine,
    readonly prefix = '',
  ) {}

  /** Topic of every change of a model (subscribe_many, subscribe_activity, `thingActivity`). */
  modelTopic(model: string): string {
    return `${this.prefix}${model}`;
  }

  /** Topic of one row (subscribe_instance, `thingChanged(id)`). */
  instanceTopic(model: string, pk: unknown): string {
    return `${this.prefix}${model}#${String(pk)}`;
  }

  /** Topic of one group of a named observer of a model. */
  groupTopic(model: string, observer: string, group: string | number): string {
    return `${this.prefix}${model}@${observer}:${String(group)}`;
  }

  /** Topic of a custom signal's group. */
  signalTopic(signal: string, group: string | number): string {
    return `${this.prefix}signal:${signal}:${String(group)}`;
  }

  /** Whether any local handler listens to any topic of this model; writes skip capture when none does. */
  isObserved(model: string): boolean {
    if ((this.observedModels.get(model) ?? 0) > 0) return true;
    if (this.isLocalEngine) return false;
    // A shared engine: another process may be listening. Its interest registry knows; without one,
    // capture every write.
    return this.interest ? this.interest.isObserved(model) : true;
  }

  /** Which models other processes observe (set by shared engines, e.g. Redis). */
  interest: ModelInterest | undefined;
  private readonly announcements = new Map<string, Promise<void>>();

  /** Publishes committed records: to the model topic, the row topic and every group topic. */
  publishChanges(records: readonly ChangeRecord[]): void {
    for (const record of records) {
      const data = lastState(record);
      const message: ChangeMessage = {
        model: record.model,
        action: record.action,
        pk: record.pk,
        data,
        before: record.before ?? null,
      };
      this.send(this.modelTopic(record.model), message);
      this.send(this.instanceTopic(record.model, record.pk), message);
      const observers = groupFunctions.get(record.model);
      if (!observers) continue;
      for (const [observer, groupsForRow] of observers) {
        let groups: Map<string, ChangeAction>;
        try {
          groups = relativeGroups(record, groupsForRow);
        } catch (error) {
          // User code (groupsForSignal) runs after the commit, where nobody awaits it: a throw here
          // would be an unhandled rejection. This observer misses the event; the others still get it.
          logger.error('observer groups failed', { model: record.model, observer, pk: record.pk, error: String((error as Error)?.stack ?? error) });
          continue;
        }
        for (const [group, action] of groups) {
          this.send(this.groupTopic(record.model, observer, group), { ...message, action });
        }
      }
    }
  }

  /** Publishes a payload on a topic (custom signals). */
  publish(topic: string, payload: unknown): void {
    this.send(topic, payload);
  }

  private send(topic: string, payload: unknown): void {
    // In-process, a topic nobody here listens to has no listener anywhere: skip it. A shared engine
    // (Redis) may have listeners in other processes, so it always publishes.
    if (this.isLocalEngine && !this.topics.has(topic)) return;
    this.stats.published++;
    this.inFlight++;
    // An engine that throws instead of rejecting is treated the same as one that rejects.
    new Promise<void>((resolve) => resolve(this.engine.publish(topic, payload)))
      .catch((error: unknown) => {
        // Never silent: a message the PubSub refused is an event its subscribers will not see.
        this.stats.lost++;
        this.lostEvents.report(topic, error);
      })
      .finally(() => {
        if (--this.inFlight === 0) for (const resolve of this.drained.splice(0)) resolve();
      });
  }

  /** Resolves once every message handed to the PubSub so far was accepted or counted lost (shutdown). */
  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** True for an engine whose subscribers all live in this process. */
  isLocalEngine = true;

  /**
   * Adds a local handler for a topic; resolves once the topic is live in the PubSub (for Redis, once
   * the server confirmed the subscription). Returns the function that removes the handler.
   */
  async subscribe(topic: string, handler: TopicHandler, model?: string): Promise<() => void> {
    let state = this.topics.get(topic);
    if (!state) {
      const handlers = new Set<TopicHandler>();
      const subscription = this.engine.subscribe(topic, (payload: unknown) => this.dispatch(handlers, payload), {});
      state = { handlers, model, subscription };
      this.topics.set(topic, state);
      if (model !== undefined) {
        const count = this.observedModels.get(model) ?? 0;
        this.observedModels.set(model, count + 1);
        // The first local interest in a model is announced to the other processes before any
        // subscription to it counts as live, so their writes to it are captured from then on.
        if (count === 0 && this.interest) this.announcements.set(model, this.interest.observe(model));
      }
    }
    state.handlers.add(handler);
    const current = state;
    let removed = false;
    const remove = () => {
      if (removed) return;
      removed = true;
      current.handlers.delete(handler);
      if (current.handlers.size === 0 && this.topics.get(topic) === current) this.dropTopic(topic, current);
    };
    try {
      await current.subscription;
      if (model !== undefined) await this.announcements.get(model);
      // A write that began before this model was observed here captured nothing: let it end first,
      // so any write committing after the subscriber hears back is one that captured its rows.
      if (model !== undefined) await this.unobservedWrites.settled(model);
    } catch (error) {
      // The engine refused the topic (Redis down): forget it, so the next subscribe tries afresh.
      remove();
      if (this.topics.get(topic) === current) this.dropTopic(topic, current);
      throw error;
    }
    return remove;
  }

  private dropTopic(topic: string, state: TopicState): void {
    this.topics.delete(topic);
    if (state.model !== undefined) {
      const left = (this.observedModels.get(state.model) ?? 1) - 1;
      if (left > 0) this.observedModels.set(state.model, left);
      else {
        this.observedModels.delete(state.model);
        this.announcements.delete(state.model);
        this.interest?.forget(state.model);
      }
    }
    state.subscription.then(
      (id) => this.engine.unsubscribe(id),
      () => undefined,
    );
  }

  private dispatch(handlers: Set<TopicHandler>, payload: unknown): void {
    for (const handler of handlers) {
      try {
        handler(payload);
        this.stats.delivered++;
      } catch (error) {
        this.stats.handlerErrors++;
        logger.error('event handler failed', { error: String((error as Error)?.stack ?? error) });
      }
    }
  }

  /**
   * Computes a value once per message per key in this process: a frame serialized once for all the
   * sockets of a group instead of once per socket.
   */
  memo<T>(message: object, key: unknown, compute: () => T): T {
    let memo = this.memos.get(message);
    if (!memo) {
      memo = new Map();
      this.memos.set(message, memo);
    }
    if (memo.has(key)) return memo.get(key) as T;
    const value = compute();
    memo.set(key, value);
    return value;
  }

  /** Number of topics this process is subscribed to. */
  get topicCount(): number {
    return this.topics.size;
  }
}

/** Groups a record touches, with the action relative to each: left = delete, stayed = update, entered = create. */
export function relativeGroups(record: ChangeRecord, groupsForRow: GroupsForRow): Map<string, ChangeAction> {
  const result = new Map<string, ChangeAction>();
  if (record.action === 'update' && !record.before) {
    // No earlier state was captured: the row can only be said to have changed where it is now.
    for (const group of groupsForRow(record.after ?? {})) result.set(String(group), 'update');
    return result;
  }
  const before = record.before ? new Set([...groupsForRow(record.before)].map(String)) : new Set<string>();
  const after = record.after ? new Set([...groupsForRow(record.after)].map(String)) : new Set<string>();
  for (const group of before) result.set(group, after.has(group) ? 'update' : 'delete');
  for (const group of after) if (!before.has(group)) result.set(group, 'create');
  return result;
}
