/**
 * Batching of per-parent lookups (the DataLoader pattern, without its cache): the resolvers of a
 * list's items run in one synchronous pass, each asks for its key, and one load answers them all
 * once the pass is over. A nested list therefore costs one query per level, not one per parent.
 * Nothing is kept past a batch: a socket's context lives across operations (a later one must see
 * later data), and a batch's entry is gone once it is loading, so nothing grows with use.
 */

/** Loads the values of many keys at once; a key missing from the map has no value. */
export type LoadMany<K, V> = (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>;

interface Batch {
  keys: unknown[];
  result: Promise<ReadonlyMap<unknown, unknown>>;
}

const pending = new WeakMap<object, Map<string, Batch>>();

/**
 * The value of `key`, loaded with every other key asked for under the same `name` and `context` in
 * the same pass. Name the batch after everything `loadMany` depends on besides the keys (the field
 * and its arguments): every key of a batch is loaded by the first caller's `loadMany`.
 */
export async function batchLoad<K, V>(context: object, name: string, key: K, loadMany: LoadMany<K, V>): Promise<V | undefined> {
  let batches = pending.get(context);
  if (!batches) pending.set(context, (batches = new Map()));
  let batch = batches.get(name);
  if (!batch) {
    const keys: unknown[] = [];
    const own = batches;
    // After the promise jobs of the current pass (graphql-js resolves sibling items in one), then a
    // tick, as DataLoader schedules it: every sibling has asked by then.
    const result = Promise.resolve()
      .then(() => new Promise<void>((resolve) => process.nextTick(resolve)))
      .then(() => {
        own.delete(name);
        return loadMany([...new Set(keys)] as K[]) as Promise<ReadonlyMap<unknown, unknown>>;
      });
    batch = { keys, result };
    batches.set(name, batch);
  }
  batch.keys.push(key);
  return (await batch.result).get(key) as V | undefined;
}
