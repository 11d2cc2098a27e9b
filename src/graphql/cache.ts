/**
 * A bounded least-recently-used cache of parsed and validated documents, keyed by the document text.
 * Clients send the same few documents over and over, and `validate` is most of a small query's CPU.
 * Bounded by entries and by the total length of the cached texts (a key is a whole document).
 */
export class DocumentCache<V> {
  private readonly entries = new Map<string, V>();
  private chars = 0;
  hits = 0;
  misses = 0;

  constructor(
    readonly maxEntries = 1000,
    readonly maxChars = 4 * 1024 * 1024,
  ) {}

  get(text: string): V | undefined {
    const value = this.entries.get(text);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Re-insert so the Map's insertion order stays the recency order.
    this.entries.delete(text);
    this.entries.set(text, value);
    return value;
  }

  set(text: string, value: V): void {
    if (this.maxEntries <= 0 || text.length > this.maxChars) return;
    if (this.entries.delete(text)) this.chars -= text.length;
    this.entries.set(text, value);
    this.chars += text.length;
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.entries.delete(key);
      this.chars -= key.length;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
