/**
 * The change hub: turns committed change records into messages on PubSub topics (one per model, one
 * per row) and fans each topic out to the local handlers that asked for it; observer groups are judged
 * here, on receipt (groups.ts). One PubSub subscription per topic per process, however many sockets
 * listen. A runtime owns one hub (see src/runtime.ts).
 */
import type { PubSubEngine } from 'graphql-subscriptions';
import { lastState, type ChangeAction, type ChangeRecord, type Row } from './records.js';
import { logger } from '../logger.js';
import { LostEventReporter } from './lost-events.js';
import type { ModelInterest } from './interest.js';
import { UnobservedWrites } from './unobserved-writes.js';
import { GroupFanout, type RowGrouping } from './groups.js';

export { relativeGroups, type GroupsForRow, type RowGrouping } from './groups.js';

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

export type TopicHandler = (payload: any) => void;

interface TopicState {
  handlers: Set<TopicHandler>;
  model: string | undefined;
  subscription: Promise<number>;
}

/** One grouping's fan-out of a model and the subscription of the model topic it listens to. */
interface Fanout {
  groups: GroupFanout;
  live: Promise<() => void>;
  /** The model topic's closer, once live. */
  close?: () => void;
}

export interface HubStats {
  published: number;
  delivered: number;
  handlerErrors: number;
  /** Messages the PubSub refused (Redis unreachable): their subscribers never see them. */
  lost: number;
}

export interface ChangeHubOptions {
  /** Prepended to every topic: hubs sharing an engine and a prefix share events. */
  prefix?: string;
  /**
   * True (the default) when every subscriber of the engine lives in this process: topics nobody here
   * listens to are then not published, and a model nobody here observes is not captured.
   */
  inProcess?: boolean;
  /** Which models other processes observe (shared engines, e.g. Redis); without one, every write is captured. */
  interest?: ModelInterest;
  /** Writes that began unobserved (shared with the interest registry, which waits for them too). */
  unobservedWrites?: UnobservedWrites;
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
  readonly unobservedWrites: UnobservedWrites;
  /** Prepended to every topic. */
  readonly prefix: string;
  /** True for an engine whose subscribers all live in this process. */
  readonly isLocalEngine: boolean;
  /** Which models other processes observe (set for shared engines, e.g. Redis). */
  readonly interest: ModelInterest | undefined;
  private readonly fanouts = new Map<RowGrouping, Map<string, Fanout>>();
  private readonly dispatcher = (handlers: Set<TopicHandler>, payload: unknown) => this.dispatch(handlers, payload);

  constructor(
    readonly engine: PubSubEngine,
    options: ChangeHubOptions = {},
  ) {
    this.prefix = options.prefix ?? '';
    this.isLocalEngine = options.inProcess ?? true;
    this.interest = options.interest;
    this.unobservedWrites = options.unobservedWrites ?? new UnobservedWrites();
  }

  /** Topic of every change of a model (subscribe_many, subscribe_activity, `thingActivity`). */
  modelTopic(model: string): string {
    return `${this.prefix}${model}`;
  }

  /** Topic of one row (subscribe_instance, `thingChanged(id)`). */
  instanceTopic(model: string, pk: unknown): string {
    return `${this.prefix}${model}#${String(pk)}`;
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

  private readonly announcements = new Map<string, Promise<void>>();

  /** Publishes committed records: to the model topic and the row topic (groups are judged on receipt). */
  publishChanges(records: readonly ChangeRecord[]): void {
    for (const record of records) {
      const message: ChangeMessage = {
        model: record.model,
        action: record.action,
        pk: record.pk,
        data: lastState(record),
        before: record.before ?? null,
      };
      this.send(this.modelTopic(record.model), message);
      this.send(this.instanceTopic(record.model, record.pk), message);
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

  /**
   * Adds a local handler for one group of `grouping` over `model`'s changes, each message carrying the
   * action relative to the group. The grouping's fan-out listens to the model's topic (one handler per
   * grouping, however many groups and sockets): resolves once that topic is live, like `subscribe`.
   */
  async subscribeGroup(model: string, grouping: RowGrouping, group: string, handler: TopicHandler): Promise<() => void> {
    let byModel = this.fanouts.get(grouping);
    if (!byModel) this.fanouts.set(grouping, (byModel = new Map()));
    let fanout = byModel.get(model);
    if (!fanout) {
      const groups = new GroupFanout(model, grouping, this.dispatcher);
      const created: Fanout = { groups, live: this.subscribe(this.modelTopic(model), groups.onMessage, model) };
      byModel.set(model, created);
      created.live.then(
        (close) => (created.close = close),
        // Refused by the engine: forget it, so the next subscription tries afresh.
        () => this.dropFanout(grouping, model, created),
      );
      fanout = created;
    }
    fanout.groups.add(group, handler);
    const own = fanout;
    let removed = false;
    const remove = () => {
      if (removed) return;
      removed = true;
      if (own.groups.remove(group, handler) && this.dropFanout(grouping, model, own)) {
        if (own.close) own.close();
        else
          own.live.then(
            (close) => close(),
            () => undefined,
          );
      }
    };
    try {
      await own.live;
    } catch (error) {
      remove();
      throw error;
    }
    return remove;
  }

  /** Forgets a fan-out if it is still the current one; true when it was. */
  private dropFanout(grouping: RowGrouping, model: string, fanout: Fanout): boolean {
    const byModel = this.fanouts.get(grouping);
    if (byModel?.get(model) !== fanout) return false;
    byModel.delete(model);
    if (byModel.size === 0) this.fanouts.delete(grouping);
    return true;
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
