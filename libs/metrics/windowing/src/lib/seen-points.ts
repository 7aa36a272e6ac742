/** Width of the buckets seen points are forgotten by (a whole bucket at a time). */
export const SEEN_BUCKET_MS = 10_000;

/**
 * One point per (series, timestamp): the timestamps of the points a
 * partition's windows took, per series key, while a window could still take
 * a repeat. A point at t can join a window until t + the longest window +
 * allowed lateness reaches the partition's late bound; a repeat after that is
 * late like any point, so the point is forgotten — a whole bucket of
 * {@link SEEN_BUCKET_MS} at a time, which keeps the checkpoint's list and a
 * restore's behaviour the same whenever the bucket is swept.
 */
export class SeenPoints {
  /** Per series key, ascending. */
  private readonly times = new Map<string, number[]>();
  /** Points before this are forgotten: a multiple of {@link SEEN_BUCKET_MS}. */
  private from = -Infinity;
  private readonly horizonMs: number;

  /** `reachMs`: how long after its timestamp a point can still join a window (longest window + allowed lateness). */
  constructor(reachMs: number) {
    this.horizonMs = SEEN_BUCKET_MS + reachMs;
  }

  /** Records (series, t) as taken; false when it already was. */
  remember(key: string, t: number): boolean {
    // Points come mostly in order, so this appends after one comparison.
    const times = this.times.get(key);
    if (times === undefined) {
      this.times.set(key, [t]);
      return true;
    }
    let i = times.length;
    while (i > 0 && times[i - 1] > t) i--;
    if (i > 0 && times[i - 1] === t) return false;
    if (i === times.length) times.push(t);
    else times.splice(i, 0, t);
    return true;
  }

  /** Forgets the buckets that ended the horizon before `lateBound` (the partition's, which never decreases). */
  forget(lateBound: number): void {
    const from = (Math.floor((lateBound - this.horizonMs) / SEEN_BUCKET_MS) + 1) * SEEN_BUCKET_MS;
    if (!(from > this.from)) return;
    this.from = from;
    for (const [key, times] of this.times) {
      if (times[0] >= from) continue;
      let n = 1;
      while (n < times.length && times[n] < from) n++;
      if (n === times.length) this.times.delete(key);
      else times.splice(0, n);
    }
  }

  /** As [series key, ascending timestamps delta-encoded] (small numbers in the checkpoint), by key. */
  toJSON(): [string, number[]][] {
    return [...this.times.keys()]
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((key) => {
        const times = this.times.get(key) as number[];
        return [key, times.map((t, i) => (i === 0 ? t : t - (times[i - 1] as number)))];
      });
  }

  /** Takes the points of a {@link toJSON} back. */
  restore(entries: readonly (readonly [string, readonly number[]])[]): void {
    for (const [key, deltas] of entries) {
      let t = 0;
      for (const delta of deltas) {
        t += delta;
        this.remember(key, t);
      }
    }
  }
}
