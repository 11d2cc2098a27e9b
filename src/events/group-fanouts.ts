/**
 * The hub's group fan-outs: one `GroupFanout` per (grouping, model), listening to the model's topic
 * with one handler however many groups and sockets join it, made on the first group's subscription and
 * dropped with the last one's. A fan-out whose topic the engine refused is forgotten, so the next
 * subscription tries afresh.
 */
import { GroupFanout, type RowGrouping } from './groups.js';

/** A group's local handler: the message with the action relative to its group. */
type Handler = Parameters<GroupFanout['add']>[1];

/** Subscribes a handler to a model's topic; resolves with its closer once the topic is live. */
export type SubscribeModelTopic = (model: string, handler: Handler) => Promise<() => void>;

/** One grouping's fan-out of a model and the subscription of the model topic it listens to. */
interface Fanout {
  groups: GroupFanout;
  live: Promise<() => void>;
  /** The model topic's closer, once live. */
  close?: () => void;
}

export class GroupFanouts {
  private readonly fanouts = new Map<RowGrouping, Map<string, Fanout>>();

  constructor(
    private readonly subscribeModelTopic: SubscribeModelTopic,
    /** Hands a judged message to a group's handlers (the hub's isolated dispatch). */
    private readonly dispatch: ConstructorParameters<typeof GroupFanout>[2],
  ) {}

  /**
   * Adds `handler` to one group of `grouping` over `model`'s changes; resolves once the model's topic
   * is live, with the function that removes it.
   */
  async subscribe(model: string, grouping: RowGrouping, group: string, handler: Handler): Promise<() => void> {
    let byModel = this.fanouts.get(grouping);
    if (!byModel) this.fanouts.set(grouping, (byModel = new Map()));
    let fanout = byModel.get(model);
    if (!fanout) {
      const groups = new GroupFanout(model, grouping, this.dispatch);
      const created: Fanout = { groups, live: this.subscribeModelTopic(model, groups.onMessage) };
      byModel.set(model, created);
      created.live.then(
        (close) => (created.close = close),
        () => this.drop(grouping, model, created),
      );
      fanout = created;
    }
    fanout.groups.add(group, handler);
    const own = fanout;
    let removed = false;
    const remove = () => {
      if (removed) return;
      removed = true;
      if (own.groups.remove(group, handler) && this.drop(grouping, model, own)) {
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
  private drop(grouping: RowGrouping, model: string, fanout: Fanout): boolean {
    const byModel = this.fanouts.get(grouping);
    if (byModel?.get(model) !== fanout) return false;
    byModel.delete(model);
    if (byModel.size === 0) this.fanouts.delete(grouping);
    return true;
  }
}
