/**
 * A bounded least-recently-used cache of parsed and validated documents, keyed by the document text.
 * Clients send the same few documents over and over, and `validate` is most of a small query's CPU.
 * Bounded by entries, by the total length of the cached texts (a key is a whole document) and by the
 * total weight of the values: a parsed document keeps every token of its text (for error locations),
 * about 30 times the text's size, so the engine weighs each document by its tokens.
 */
export class DocumentCache<V> {
  private readonly entries = new Map<string, { value: V; weight: number }>();
  private chars = 0;
  private weight = 0;
  hits = 0;
  misses = 0;

  constructor(
    readonly maxEntries = 1000,
    readonly maxChars = 4 * 1024 * 1024,
    readonly maxWeight = Number.POSITIVE_INFINITY,
  ) {}

  get(text: string): V | undefined {
    const entry = this.entries.get(text);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Re-insert so the Map's insertion order stays the recency order.
    this.entries.delete(text);
    this.entries.set(text, entry);
    return entry.value;
  }

  /** Keeps `value` for `text`; `weight` counts against `maxWeight` (default 1). */
  set(text: string, value: V, weight = 1): void {
    if (this.maxEntries <= 0 || text.length > this.maxChars || weight > this.maxWeight) return;
    this.remove(text);
    this.entries.set(text, { value, weight });
    this.chars += text.length;
    this.weight += weight;
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxChars && this.weight <= this.maxWeight) break;
      this.remove(key);
    }
  }

  private remove(text: string): void {
    const entry = this.entries.get(text);
    if (!entry) return;
    this.entries.delete(text);
    this.chars -= text.length;
    this.weight -= entry.weight;
  }

  get size(): number {
    return this.entries.size;
  }
}
