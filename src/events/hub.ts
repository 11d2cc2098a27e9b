/**
 * The change hub: turns committed change records into messages on PubSub topics (one per model, one
 * per row) and fans each topic out to the local handlers that asked for it; observer groups are judged
 * here, on receipt (groups.ts). One PubSub subscription per topic per process, however many sockets
 * listen. A runtime owns one hub (see src/runtime.ts).
 */
import type { PubSubEngine } from 'graphql-subscriptions';
import { isTruncate, lastState, type ChangeMessage, type ChangeRecord } from './records.js';

export type { ChangeMessage } from './records.js';
import { logger } from '../logger.js';
import { LostEventReporter } from './lost-events.js';
import type { ModelInterest } from './interest.js';
import { UnobservedWrites } from './unobserved-writes.js';
import { GroupFanout, type RowGrouping } from './groups.js';
import { GroupFanouts } from './group-fanouts.js';
import type { ChangeLog, LogEntry } from './change-log.js';
import { ChangeFeed, messageOf } from './feed.js';
import type { SqliteConnection } from '../db/connection.js';
import { ReplayGate, replayFilter, startReplay, type PositionedUnsubscribe } from './resume.js';

export { relativeGroups, type GroupsForRow, type RowGrouping } from './groups.js';

export type { PositionedUnsubscribe } from './resume.js';

export type TopicHandler = (payload: any) => void;

interface TopicState {
  handlers: Set<TopicHandler>;
  model: string | undefined;
  subscription: Promise<number>;
  /** Served by the change feed (one engine subscription for every model topic): nothing to unsubscribe. */
  viaFeed: boolean;
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
  /** The message `memoOf` was last asked about, and its map (kept until the next one). */
  private lastMemoMessage: object | undefined;
  private lastMemo: Map<unknown, unknown> | undefined;
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
  private readonly groupFanouts = new GroupFanouts(
    (model, handler) => this.subscribeTopic(this.modelTopic(model), handler, model),
    (handlers, payload) => this.dispatch(handlers, payload),
  );
  /** Delivery from the change log, once the runtime found one (`attachLog`). */
  private feed: ChangeFeed | undefined;
  /**
   * Models observed here since the log was attached: their writes stay logged after their last
   * subscriber left, so a subscriber that comes back can resume from its position.
   */
  private readonly retained = new Set<string>();
  /** Models being made captured by `retain` (announced to the other processes, open unobserved writes awaited). */
  private readonly retaining = new Map<string, Promise<void>>();

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

  /** The change log behind this hub's events, when the app's database has one. */
  get changeLog(): ChangeLog | undefined {
    return this.feed?.log;
  }

  /**
   * Makes this hub's events durable: logged changes are published once each on the feed topic, and
   * every model and row topic is served from the feed, in log order, gaps filled from the log.
   */
  attachLog(log: ChangeLog): void {
    if (this.feed) throw new Error('ChangeHub.attachLog: this hub already has a change log');
    this.feed = new ChangeFeed(log, this.engine, `${this.prefix}changes!`, {
      route: (message) => this.route(message),
      observedModels: () => [...this.observedModels.keys()],
    });
  }

  /** The last log sequence number delivered by this process (0 without a log). */
  get feedCursor(): number {
    return this.feed?.cursor ?? 0;
  }

  /** Checks the log's head at once (the PubSub reconnected: what it dropped meanwhile is read from the log). */
  catchUp(): void {
    this.feed?.poll();
  }

  /**
   * Hands a logged change to the local handlers of its model topic and its row topic; a truncate
   * (every row of the model at once) to the model topic and every row topic of the model.
   */
  private route(message: ChangeMessage): void {
    const modelTopic = this.modelTopic(message.model);
    const model = this.topics.get(modelTopic);
    if (model) this.dispatch(model.handlers, message);
    if (isTruncate(message)) {
      this.routeToRows(message, `${modelTopic}#`);
      return;
    }
    const row = this.topics.get(this.instanceTopic(message.model, message.pk));
    if (row) this.dispatch(row.handlers, message);
  }

  /** Hands a truncate to every row topic of its model (a rare message: a scan of the topics is cheap enough). */
  private routeToRows(message: ChangeMessage, rowPrefix: string): void {
    const rows: TopicState[] = [];
    for (const [topic, state] of this.topics) if (state.model === message.model && topic.startsWith(rowPrefix)) rows.push(state);
    for (const state of rows) this.dispatch(state.handlers, message);
  }

  /**
   * Whether writes of this model are captured: someone listens (`isObserved`), or the model has
   * been observed here since the change log was attached (its history goes on for those who resume).
   */
  captures(model: string): boolean {
    return this.retained.has(model) || this.isObserved(model);
  }

  /**
   * Makes a model captured (and logged) from now on, as a first subscription would: resolves once the
   * other processes capture it too and this process's writes of it that began unobserved have ended.
   * An anchored read calls it before taking the head, so the writes between the read and the subscribe
   * that follows it are in the log.
   */
  retain(model: string): Promise<void> {
    if (!this.feed) return Promise.resolve();
    let retaining = this.retaining.get(model);
    if (!retaining) {
      const wasCaptured = this.captures(model) && this.retained.has(model);
      this.retained.add(model);
      retaining = wasCaptured
        ? Promise.resolve()
        : (async () => {
            if (this.interest) await this.interest.observe(model);
            await this.unobservedWrites.settled(model);
          })();
      this.retaining.set(model, retaining);
    }
    return retaining;
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
    const feed = this.feed;
    for (const record of records) {
      const message: ChangeMessage = {
        model: record.model,
        action: record.action,
        pk: record.pk,
        data: lastState(record),
        before: record.before ?? null,
      };
      if (feed && record.seq !== undefined) {
        message.position = feed.log.position(record.seq);
        message.seq = record.seq;
        // In-process, nobody listens before the feed starts; a shared engine may have listeners elsewhere.
        if (!this.isLocalEngine || feed.started) this.send(feed.topic, message, true);
        continue;
      }
      this.send(this.modelTopic(record.model), message);
      this.send(this.instanceTopic(record.model, record.pk), message);
    }
  }

  /**
   * The change a write of `model` has just logged, read on its transaction's SQLite connection before
   * COMMIT, when this process will publish it (`publishLogged`); undefined when nobody here or elsewhere
   * can be listening, or there is no change log: the feed's wake-up (`catchUp`) is enough then.
   */
  loggedBy(connection: SqliteConnection, model: string): LogEntry | undefined {
    const feed = this.feed;
    if (!feed || (this.isLocalEngine && !feed.started) || !this.isObserved(model)) return undefined;
    return feed.log.newestEntryOn(connection);
  }

  /**
   * Publishes, once its transaction has committed, a change the database logged for a write of this
   * process (`loggedBy`): on the feed topic, as `publishChanges` does the ORM's, so it reaches every
   * process now instead of at their next read of the log.
   */
  publishLogged(entry: LogEntry): void {
    const feed = this.feed;
    if (feed) this.send(feed.topic, messageOf(entry), true);
  }

  /** Publishes a payload on a topic (custom signals). */
  publish(topic: string, payload: unknown): void {
    this.send(topic, payload);
  }

  private send(topic: string, payload: unknown, logged = false): void {
    // In-process, a topic nobody here listens to has no listener anywhere: skip it. A shared engine
    // (Redis) may have listeners in other processes, so it always publishes.
    if (!logged && this.isLocalEngine && !this.topics.has(topic)) return;
    this.stats.published++;
    this.inFlight++;
    // An engine that throws instead of rejecting is treated the same as one that rejects.
    new Promise<void>((resolve) => resolve(this.engine.publish(topic, payload)))
      .catch((error: unknown) => {
        // A logged change is not lost: every process reads it from the log at its next poll.
        if (logged) {
          logger.debug('change published late: the PubSub refused it, the log delivers it', { topic });
          return;
        }
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
    const feed = this.feed;
    if (!feed || model === undefined) return this.subscribeTopic(topic, handler, model);
    // Served by the feed, whose topic is always live: changes committed before this subscription
    // (still on their way here) are not for it, so it hears of what commits after it, as before.
    return this.subscribeTopic(topic, await this.liveFrom(feed, handler), model);
  }

  private async subscribeTopic(topic: string, handler: TopicHandler, model?: string): Promise<() => void> {
    let state = this.topics.get(topic);
    if (!state) {
      const handlers = new Set<TopicHandler>();
      const viaFeed = this.feed !== undefined && model !== undefined;
      if (viaFeed) this.retained.add(model);
      const subscription = viaFeed
        ? this.feed!.start()
        : this.engine.subscribe(topic, (payload: unknown) => this.dispatch(handlers, payload), {});
      state = { handlers, model, subscription, viaFeed };
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
  async subscribeGroup(
    model: string,
    grouping: RowGrouping,
    group: string,
    handler: TopicHandler,
    since?: string,
  ): Promise<PositionedUnsubscribe> {
    const feed = this.feed;
    if (since !== undefined) return this.subscribeGroupFrom(model, grouping, group, handler, since);
    if (!feed) return this.subscribeGroupLive(model, grouping, group, handler);
    return this.subscribeGroupLive(model, grouping, group, await this.liveFrom(feed, handler));
  }

  private subscribeGroupLive(model: string, grouping: RowGrouping, group: string, handler: TopicHandler): Promise<() => void> {
    return this.groupFanouts.subscribe(model, grouping, group, handler);
  }

  /**
   * `subscribe` to a model's or a row's topic, resuming `since` a position (`"latest"`: live from now).
   * Resolves once the subscription is live and its replay is scheduled; the closer carries `position`,
   * the head at that moment. The handler gets the changes after `since` read from the log, then the
   * live ones, in position order, each once. Throws PositionError for a malformed or expired `since`.
   * Without `since`, the same as `subscribe`.
   */
  async subscribeFrom(topic: string, handler: TopicHandler, model: string, since?: string): Promise<PositionedUnsubscribe> {
    if (since === undefined) return this.subscribe(topic, handler, model);
    const feed = this.requireFeed();
    const after = since === 'latest' ? undefined : await feed.log.resolve(since);
    const gate = new ReplayGate((message) => this.dispatchOne(handler, message));
    const unsubscribe = await this.subscribeTopic(topic, gate.onMessage, model);
    return startReplay(feed, gate, unsubscribe, after, replayFilter(this.modelTopic(model), topic, model), gate.replayed);
  }

  /** `subscribeGroup` resuming `since` a position: past changes judged on their own before/after rows. */
  private async subscribeGroupFrom(
    model: string,
    grouping: RowGrouping,
    group: string,
    handler: TopicHandler,
    since: string,
  ): Promise<PositionedUnsubscribe> {
    const feed = this.requireFeed();
    const after = since === 'latest' ? undefined : await feed.log.resolve(since);
    const gate = new ReplayGate((message) => this.dispatchOne(handler, message));
    const unsubscribe = await this.subscribeGroupLive(model, grouping, group, gate.onMessage);
    // The replay's own judge: the same grouping, this one group.
    const judge = new GroupFanout(model, grouping, (handlers, message) => {
      for (const each of handlers) each(message);
    });
    judge.add(group, gate.replayed as (message: unknown) => void);
    return startReplay(feed, gate, unsubscribe, after, { models: [model] }, judge.onMessage);
  }

  /**
   * Readies the feed for a subscription that hears of what commits after it: the feed only ever routes
   * changes past its cursor, so a handler added now gets exactly those. In-process the cursor is
   * current (publishing is synchronous); with a shared PubSub the feed first reaches the log's head,
   * so changes committed before this subscription (still on their way here) are not for it.
   */
  private async liveFrom(feed: ChangeFeed, handler: TopicHandler): Promise<TopicHandler> {
    await feed.start();
    // Entries the database wrote (capture triggers) are announced by no message: reach the head too.
    if (!this.isLocalEngine || feed.log.writtenByDatabase) await feed.reachHead();
    return handler;
  }

  private requireFeed(): ChangeFeed {
    if (!this.feed) throw new Error('This app has no change log: add changeLogMigration to its migrations to resume subscriptions');
    return this.feed;
  }

  /** Hands one message to one handler, isolated like `dispatch` (replays, held live messages). */
  private dispatchOne(handler: TopicHandler, message: unknown): void {
    try {
      handler(message);
    } catch (error) {
      this.stats.handlerErrors++;
      logger.error('event handler failed', { error: String((error as Error)?.stack ?? error) });
    }
  }

  /** Stops the change feed's poll (runtime close). */
  closeFeed(): void {
    this.feed?.close();
  }

  private dropTopic(topic: string, state: TopicState): void {
    this.topics.delete(topic);
    if (state.model !== undefined) {
      const left = (this.observedModels.get(state.model) ?? 1) - 1;
      if (left > 0) this.observedModels.set(state.model, left);
      else {
        this.observedModels.delete(state.model);
        this.announcements.delete(state.model);
        // A logged model stays observed (its history must go on for those who resume).
        if (!this.retained.has(state.model)) this.interest?.forget(state.model);
      }
    }
    if (state.viaFeed) return;
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
   * sockets of a group instead of once per socket. `compute` gets `a` and `b`: a path that runs once per
   * subscriber per event passes a function made once and its inputs, rather than a closure made per call.
   */
  memo<T, A = undefined, B = undefined>(message: object, key: unknown, compute: (a: A, b: B) => T, a?: A, b?: B): T {
    const memo = this.memoOf(message);
    if (memo.has(key)) return memo.get(key) as T;
    const value = compute(a as A, b as B);
    memo.set(key, value);
    return value;
  }

  /**
   * The values computed once per message in this process (see `memo`), keyed as their makers choose.
   * The subscribers of a message are handed it one after another: the last message's map is at hand
   * without a lookup.
   */
  private memoOf(message: object): Map<unknown, unknown> {
    if (message === this.lastMemoMessage) return this.lastMemo!;
    let memo = this.memos.get(message);
    if (!memo) {
      memo = new Map();
      this.memos.set(message, memo);
    }
    this.lastMemoMessage = message;
    this.lastMemo = memo;
    return memo;
  }

  /** Number of topics this process is subscribed to. */
  get topicCount(): number {
    return this.topics.size;
  }
}
