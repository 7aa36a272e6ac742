import { type MetricPoint, seriesKey } from '@qls/metrics-contracts';

/** One series over the window, as `GET /dashboard/series` answers it. */
export interface SeriesStats {
  readonly seriesKey: string;
  readonly serviceId: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The point with the latest event time: not necessarily the last to arrive. */
  readonly last: { readonly value: number; readonly timestamp: number };
  /** Points in the window. */
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly avg: number;
  /** Points per second over the window: count / windowSeconds. */
  readonly rate: number;
}

/** One service, as `GET /dashboard/services` answers it. */
export interface ServiceSummary {
  readonly serviceId: string;
  /** Its series in the window. */
  readonly series: number;
  /** Latest event time (epoch ms) of its points. */
  readonly lastSeen: number;
}

/** What {@link LiveSeriesView.add} did with a point; `duplicate`: the series already has a point at its timestamp (the first one counts). */
export type AddOutcome = 'added' | 'late' | 'future' | 'duplicate';

/** Why a series left the view: its window emptied, or a new series needed its place (the cap). */
export type EvictionReason = 'expired' | 'capacity';

export interface LiveSeriesViewOptions {
  /** The window: a series shows its points of the last this many seconds of event time. */
  readonly windowSeconds: number;
  /**
   * Most series held; a new series beyond it evicts the least recently updated one.
   * Memory is about `maxSeries ×` {@link LiveSeriesView.bytesPerSeries}.
   * @defaultValue 10_000
   */
  readonly maxSeries?: number;
  /**
   * Points up to this far ahead of the clock (producers' clock skew) are kept and shown; later ones are dropped.
   * @defaultValue 10
   */
  readonly maxFutureSeconds?: number;
  /** @defaultValue Date.now */
  readonly clock?: () => number;
  /** Told of every series that leaves the view (for a metric). */
  readonly onEvict?: (reason: EvictionReason, count: number) => void;
}

export const DEFAULT_MAX_SERIES = 10_000;
const DEFAULT_MAX_FUTURE_SECONDS = 10;
/** Per bucket: its second, count, sum, min and max. */
const BYTES_PER_BUCKET = 8 + 4 + 8 + 8 + 8;
/** Per series besides its buckets: the Map entry, key, labels and arrays (a rough allowance). */
const BYTES_PER_SERIES = 1_024;

/**
 * The live view of the dashboard: per series (see `seriesKey`), its points of
 * the last `windowSeconds` of event time, as a ring of per-second buckets
 * (count, sum, min, max), never a list of points. The window ends at the
 * clock (`now`): a dashboard shows now, so a series that stops reporting
 * empties out of it within one window, and a point whose event time is
 * already out of the window when it arrives is dropped (`late`).
 *
 * A point lands in the bucket of its own second, so points arriving out of
 * order within the window count as if they had arrived in order. A bucket
 * keeps the timestamps of its points: one point per (series, timestamp), as
 * the storage and the alerter keep — a later one (a retried `POST /metrics`)
 * is a `duplicate` and is not counted. A bucket's
 * slot is reused by a later second only once its own second has left the
 * window (the ring holds `windowSeconds + maxFutureSeconds` slots), so stale
 * buckets are skipped when read and overwritten when written: eviction by event
 * time costs nothing per point.
 *
 * Memory is bounded by `maxSeries` fixed-size rings. Series whose window is
 * empty are dropped (at most once a second while points arrive, and on every
 * read); a new series beyond the cap evicts the least recently updated one.
 */
export class LiveSeriesView {
  readonly windowSeconds: number;
  private readonly maxSeries: number;
  private readonly maxFutureSeconds: number;
  private readonly slots: number;
  private readonly clock: () => number;
  /** In order of last update: the first entry is the least recently updated series. */
  private readonly series = new Map<string, SeriesWindow>();
  private sweptAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: LiveSeriesViewOptions) {
    this.windowSeconds = positiveInteger('windowSeconds', options.windowSeconds);
    this.maxSeries = positiveInteger('maxSeries', options.maxSeries ?? DEFAULT_MAX_SERIES);
    this.maxFutureSeconds = options.maxFutureSeconds ?? DEFAULT_MAX_FUTURE_SECONDS;
    if (!Number.isInteger(this.maxFutureSeconds) || this.maxFutureSeconds < 0) {
      throw new RangeError(`maxFutureSeconds: expected an integer >= 0, got ${this.maxFutureSeconds}`);
    }
    this.slots = this.windowSeconds + this.maxFutureSeconds;
    this.clock = options.clock ?? Date.now;
  }

  /** About how much memory one series takes with these settings. */
  static bytesPerSeries(windowSeconds: number, maxFutureSeconds = DEFAULT_MAX_FUTURE_SECONDS): number {
    return BYTES_PER_SERIES + (windowSeconds + maxFutureSeconds) * BYTES_PER_BUCKET;
  }

  /** Series held now (after dropping those whose window is empty). */
  get size(): number {
    this.sweep(this.nowSecond());
    return this.series.size;
  }

  /** Adds a parsed point; `late` or `future` when its event time is outside the window (it is dropped). */
  add(point: MetricPoint): AddOutcome {
    const now = this.nowSecond();
    const second = Math.floor(point.timestamp / 1_000);
    if (second <= now - this.windowSeconds) return 'late';
    if (second > now + this.maxFutureSeconds) return 'future';
    if (now !== this.sweptAt) this.sweep(now);
    const key = seriesKey(point);
    let window = this.series.get(key);
    if (window === undefined) {
      if (this.series.size >= this.maxSeries) this.evictLeastRecentlyUpdated(now);
      window = new SeriesWindow(key, point.serviceId, point.name, point.labels, this.slots);
    } else {
      this.series.delete(key); // re-inserted below: the Map's order is the order of last update
    }
    this.series.set(key, window);
    return window.add(second % this.slots, second, point.value, point.timestamp) ? 'added' : 'duplicate';
  }

  /** The series in the window, optionally of one service and/or one metric name, sorted by serviceId, name, then labels. */
  list(filter: { readonly serviceId?: string; readonly name?: string } = {}): SeriesStats[] {
    const now = this.nowSecond();
    this.sweep(now);
    const from = now - this.windowSeconds + 1;
    const to = now + this.maxFutureSeconds;
    const out: SeriesStats[] = [];
    for (const window of this.series.values()) {
      if (filter.serviceId !== undefined && window.serviceId !== filter.serviceId) continue;
      if (filter.name !== undefined && window.name !== filter.name) continue;
      const stats = window.stats(from, to, this.windowSeconds);
      if (stats !== undefined) out.push(stats);
    }
    return out.sort((a, b) => compare(a.serviceId, b.serviceId) || compare(a.name, b.name) || compare(a.seriesKey, b.seriesKey));
  }

  /** Every service with series in the window: how many, and the latest event time among them; sorted by serviceId. */
  services(): ServiceSummary[] {
    this.sweep(this.nowSecond());
    const byService = new Map<string, { series: number; lastSeen: number }>();
    for (const window of this.series.values()) {
      const service = byService.get(window.serviceId);
      if (service === undefined) byService.set(window.serviceId, { series: 1, lastSeen: window.lastTimestamp });
      else {
        service.series += 1;
        service.lastSeen = Math.max(service.lastSeen, window.lastTimestamp);
      }
    }
    return [...byService.entries()]
      .map(([serviceId, { series, lastSeen }]) => ({ serviceId, series, lastSeen }))
      .sort((a, b) => compare(a.serviceId, b.serviceId));
  }

  private nowSecond(): number {
    return Math.floor(this.clock() / 1_000);
  }

  /** Drops every series whose latest point (hence every point) has left the window. */
  private sweep(now: number): void {
    this.sweptAt = now;
    let expired = 0;
    for (const [key, window] of this.series) {
      if (Math.floor(window.lastTimestamp / 1_000) <= now - this.windowSeconds) {
        this.series.delete(key);
        expired += 1;
      }
    }
    if (expired > 0) this.options.onEvict?.('expired', expired);
  }

  private evictLeastRecentlyUpdated(now: number): void {
    const oldest = this.series.entries().next();
    if (oldest.done) return;
    const [key, window] = oldest.value;
    this.series.delete(key);
    const expired = Math.floor(window.lastTimestamp / 1_000) <= now - this.windowSeconds;
    this.options.onEvict?.(expired ? 'expired' : 'capacity', 1);
  }
}

/**
 * One series' ring of per-second buckets. Slot `second % slots` holds the
 * bucket of `seconds[slot]`; a slot holding another second is stale (that
 * second has left the window) and is reset when written, skipped when read.
 */
class SeriesWindow {
  private readonly seconds: Float64Array;
  private readonly counts: Uint32Array;
  private readonly sums: Float64Array;
  private readonly mins: Float64Array;
  private readonly maxs: Float64Array;
  /** The timestamps of each bucket's points (most seconds hold one or two per series). */
  private readonly times: number[][];
  lastValue = 0;
  lastTimestamp = Number.NEGATIVE_INFINITY;

  constructor(
    readonly key: string,
    readonly serviceId: string,
    readonly name: string,
    readonly labels: Readonly<Record<string, string>>,
    slots: number,
  ) {
    this.seconds = new Float64Array(slots).fill(-1);
    this.counts = new Uint32Array(slots);
    this.sums = new Float64Array(slots);
    this.mins = new Float64Array(slots);
    this.maxs = new Float64Array(slots);
    this.times = Array.from({ length: slots }, () => []);
  }

  /** False, changing nothing, when the bucket already holds a point at `timestamp`. */
  add(slot: number, second: number, value: number, timestamp: number): boolean {
    const times = this.times[slot] as number[];
    if (this.seconds[slot] !== second) {
      times.length = 0;
      times.push(timestamp);
      this.seconds[slot] = second;
      this.counts[slot] = 1;
      this.sums[slot] = value;
      this.mins[slot] = value;
      this.maxs[slot] = value;
    } else {
      if (times.includes(timestamp)) return false;
      times.push(timestamp);
      this.counts[slot] = (this.counts[slot] as number) + 1;
      this.sums[slot] = (this.sums[slot] as number) + value;
      if (value < (this.mins[slot] as number)) this.mins[slot] = value;
      if (value > (this.maxs[slot] as number)) this.maxs[slot] = value;
    }
    if (timestamp >= this.lastTimestamp) {
      this.lastTimestamp = timestamp;
      this.lastValue = value;
    }
    return true;
  }

  /** Aggregates the buckets of seconds `from`…`to`; undefined when none holds a point. */
  stats(from: number, to: number, windowSeconds: number): SeriesStats | undefined {
    let count = 0;
    let sum = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let slot = 0; slot < this.seconds.length; slot++) {
      const second = this.seconds[slot] as number;
      if (second < from || second > to) continue;
      count += this.counts[slot] as number;
      sum += this.sums[slot] as number;
      min = Math.min(min, this.mins[slot] as number);
      max = Math.max(max, this.maxs[slot] as number);
    }
    if (count === 0) return undefined;
    return {
      seriesKey: this.key,
      serviceId: this.serviceId,
      name: this.name,
      labels: this.labels,
      last: { value: this.lastValue, timestamp: this.lastTimestamp },
      count,
      min,
      max,
      avg: sum / count,
      rate: count / windowSeconds,
    };
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name}: expected a positive integer, got ${value}`);
  return value;
}

/** Code-unit order (not locale order): the same on every machine. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
