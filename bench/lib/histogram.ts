/**
 * A latency histogram small enough to send over IPC: logarithmic buckets 2% wide from 1 µs to
 * about 100 s, so percentiles are exact to 2% whatever the sample count.
 */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = Math.ceil(Math.log(1e8) / LOG_GROWTH) + 1;

export class Histogram {
  readonly counts: number[];
  total = 0;

  constructor(counts?: number[]) {
    this.counts = counts ? counts.slice() : new Array(BUCKETS).fill(0);
    if (counts) this.total = counts.reduce((sum, n) => sum + n, 0);
  }

  /** Records one latency in microseconds. */
  record(us: number): void {
    const index = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / LOG_GROWTH));
    this.counts[index]!++;
    this.total++;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
  }

  /** The latency (µs, bucket upper bound) under which `p` percent of samples fall; NaN when empty. */
  percentile(p: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return GROWTH ** i;
    }
    return GROWTH ** (BUCKETS - 1);
  }

  /** A compact form for IPC: [index, count] pairs of the non-empty buckets. */
  toJSON(): Array<[number, number]> {
    const pairs: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]) pairs.push([i, this.counts[i]!]);
    return pairs;
  }

  static fromJSON(pairs: Array<[number, number]>): Histogram {
    const histogram = new Histogram();
    for (const [index, count] of pairs) {
      histogram.counts[index]! += count;
      histogram.total += count;
    }
    return histogram;
  }
}

/** The shared monotonic clock in microseconds (CLOCK_MONOTONIC: the same in every process here). */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** The median of the finite numbers given; NaN when there is none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
