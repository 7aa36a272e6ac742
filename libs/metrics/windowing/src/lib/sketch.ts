/**
 * A mergeable quantile sketch with log-spaced buckets (the DDSketch scheme):
 * a value v > 0 is counted in bucket i = ⌈log_γ v⌉ with γ = (1 + α) / (1 − α);
 * every value of bucket i lies in (γ^(i−1), γ^i] and the bucket answers with
 * 2γ^i / (γ + 1), which is within a relative error α of each of them.
 * Negative values are counted the same way by magnitude in a second store,
 * zeros in a counter of their own.
 *
 * Guarantee: `quantile(q)` returns a value within α·|x| of x, the exact value
 * at rank ⌊q·(n − 1)⌋ of the sorted inputs (see {@link quantileRank}) — the
 * sketch only blurs values, never ranks. Size: about ln(max / min) / ln γ
 * buckets per sign, i.e. ≈ 115 buckets per decade of spread at α = 1 %.
 */

/** α: every quantile the sketch returns is within this relative error of the exact one. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;

const GAMMA = (1 + SKETCH_RELATIVE_ACCURACY) / (1 - SKETCH_RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);

/**
 * The rank (0-based index into the sorted values) that quantile q names:
 * ⌊q·(n − 1)⌋, the lower nearest rank. p50 of [1, 2] is 1; p99 of 100 values
 * is the 99th smallest. The epsilon keeps 0.29·100 (= 28.999…) at 29.
 */
export function quantileRank(q: number, count: number): number {
  return Math.floor(q * (count - 1) + 1e-9);
}

/** JSON form of one sign's buckets: `counts[k]` is the count of bucket `offset + k`. */
export interface BucketsJson {
  readonly offset: number;
  readonly counts: number[];
}

/** JSON form of a {@link LogSketch} (what `JSON.stringify` writes and `LogSketch.fromJSON` reads). */
export interface LogSketchJson {
  readonly zeros: number;
  readonly positive: BucketsJson;
  readonly negative: BucketsJson;
}

/** Contiguous bucket counts from `offset`: values of one window sit in a narrow range of buckets. */
class Buckets {
  constructor(
    public offset = 0,
    public counts: number[] = [],
    public total = counts.reduce((sum, n) => sum + n, 0),
  ) {}

  add(index: number, n: number): void {
    const counts = this.counts;
    if (counts.length === 0) {
      this.offset = index;
      counts.push(0);
    } else if (index < this.offset) {
      // At least double when growing to the left (as push does to the right): O(log n) copies per window, not one per new minimum.
      const grow = Math.max(this.offset - index, counts.length);
      this.counts = new Array<number>(grow).fill(0).concat(counts);
      this.offset -= grow;
    } else {
      while (counts.length <= index - this.offset) counts.push(0);
    }
    this.counts[index - this.offset] += n;
    this.total += n;
  }

  toJSON(): BucketsJson {
    return { offset: this.offset, counts: [...this.counts] };
  }
}

function bucketIndex(magnitude: number): number {
  return Math.ceil(Math.log(magnitude) / LOG_GAMMA);
}

function bucketValue(index: number): number {
  return (2 * Math.exp(index * LOG_GAMMA)) / (GAMMA + 1);
}

export class LogSketch {
  private zeros = 0;
  private readonly positive: Buckets;
  private readonly negative: Buckets;

  constructor(json?: LogSketchJson) {
    this.zeros = json?.zeros ?? 0;
    this.positive = new Buckets(json?.positive.offset, json?.positive.counts.slice());
    this.negative = new Buckets(json?.negative.offset, json?.negative.counts.slice());
  }

  static fromJSON(json: LogSketchJson): LogSketch {
    return new LogSketch(json);
  }

  get count(): number {
    return this.zeros + this.positive.total + this.negative.total;
  }

  /** Counts a finite value; throws on NaN/±Infinity, which have no bucket (points are validated upstream). */
  add(value: number): void {
    if (value > 0 && value !== Infinity) this.positive.add(bucketIndex(value), 1);
    else if (value < 0 && value !== -Infinity) this.negative.add(bucketIndex(-value), 1);
    else if (value === 0) this.zeros++;
    else throw new RangeError(`LogSketch counts finite values only, got ${value}`);
  }

  /** Adds another sketch's counts: the result answers as if it had seen both inputs. */
  merge(other: LogSketch): void {
    this.zeros += other.zeros;
    other.positive.counts.forEach((n, k) => n > 0 && this.positive.add(other.positive.offset + k, n));
    other.negative.counts.forEach((n, k) => n > 0 && this.negative.add(other.negative.offset + k, n));
  }

  /** The value at rank ⌊q·(n − 1)⌋, within the relative accuracy; undefined when empty. */
  quantile(q: number): number | undefined {
    const count = this.count;
    if (count === 0) return undefined;
    const rank = quantileRank(q, count);
    // Ascending order: most negative (largest magnitude) first, then zeros, then positives.
    let seen = 0;
    const negative = this.negative.counts;
    for (let k = negative.length - 1; k >= 0; k--) {
      seen += negative[k];
      if (seen > rank) return -bucketValue(this.negative.offset + k);
    }
    seen += this.zeros;
    if (seen > rank) return 0;
    const positive = this.positive.counts;
    for (let k = 0; k < positive.length; k++) {
      seen += positive[k];
      if (seen > rank) return bucketValue(this.positive.offset + k);
    }
    throw new Error('unreachable: rank beyond the count');
  }

  toJSON(): LogSketchJson {
    return { zeros: this.zeros, positive: this.positive.toJSON(), negative: this.negative.toJSON() };
  }
}
