import type { Point, ThresholdStatus } from './types';
import { fingerprint } from './alerts';
import type { AbsencePlan, ThresholdPlan } from './plans';
import { SeenPoints } from './seen-points';
import { LogSketch } from './sketch';

/** The aggregates of one open window of one series. */
export interface OpenWindow {
  readonly start: number;
  readonly end: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  readonly sketch: LogSketch | undefined;
  context: string | undefined;
}

export interface SeriesBase {
  /** Creation order within the partition: names the series in snapshots and breaks ties deterministically. */
  readonly order: number;
  readonly key: string;
  readonly fingerprint: string;
  readonly serviceId: string;
  readonly metric: string;
  readonly labels: Readonly<Record<string, string>>;
  activeAt: number;
}

export interface ThresholdSeries extends SeriesBase {
  readonly plan: ThresholdPlan;
  status: ThresholdStatus;
  lastEnd: number;
  /** Open windows by start (= by end). */
  readonly windows: OpenWindow[];
}

export interface AbsenceSeries extends SeriesBase {
  readonly plan: AbsencePlan;
  status: 'inactive' | 'firing';
  lastSeen: number;
  /** Heap key while inactive: a lower bound of lastSeen + timeout, refreshed when popped. */
  due: number;
  context: string | undefined;
}

/** Everything the alerter keeps for one partition; a snapshot writes it all (./partition-snapshot.ts). */
export interface PartitionState {
  maxTs: number;
  /** Largest global watermark applied to this partition's windows: the lateness bound never goes below it. */
  applied: number;
  /** Largest wall-clock (idle) watermark used for this partition's absence rules. */
  idleWatermark: number;
  nextOrder: number;
  /** Wall clock of the last record or of `assign`. */
  lastActivity: number;
  readonly threshold: Map<string, ThresholdSeries>[];
  readonly absence: Map<string, AbsenceSeries>[];
  /** Series with something due at a window end (a window to close or a gap to check), by end. */
  readonly due: Map<number, Set<ThresholdSeries>>;
  /** The keys of `due`, ascending. */
  readonly dueEnds: number[];
  /** Inactive absence series by (due, order). */
  readonly deadlines: AbsenceSeries[];
  /** The points windows took while a repeat could still be taken. */
  readonly seen: SeenPoints;
}

export function newPartitionState(counts: { threshold: number; absence: number }, seenReachMs: number, now: number): PartitionState {
  return {
    maxTs: -Infinity,
    applied: -Infinity,
    idleWatermark: -Infinity,
    nextOrder: 0,
    lastActivity: now,
    threshold: Array.from({ length: counts.threshold }, () => new Map()),
    absence: Array.from({ length: counts.absence }, () => new Map()),
    due: new Map(),
    dueEnds: [],
    deadlines: [],
    seen: new SeenPoints(seenReachMs),
  };
}

/** The order of the absence deadline heap. */
export const byDeadline = (a: AbsenceSeries, b: AbsenceSeries): boolean => a.due < b.due || (a.due === b.due && a.order < b.order);

/** The partition's lateness bound: a window with end + allowed lateness ≤ it takes no more points. */
export function lateBoundOf(state: PartitionState, outOfOrdernessMs: number): number {
  return Math.max(state.maxTs - outOfOrdernessMs, state.applied);
}

/** What every series is: its rule, its name in the partition (`order`) and the series it watches. */
export function seriesBase<P extends ThresholdPlan | AbsencePlan>(
  plan: P,
  key: string,
  order: number,
  from: Pick<SeriesBase, 'serviceId' | 'metric' | 'labels' | 'activeAt'>,
): SeriesBase & { readonly plan: P } {
  return {
    plan,
    order,
    key,
    fingerprint: fingerprint(plan.rule.name, key),
    serviceId: from.serviceId,
    metric: from.metric,
    labels: from.labels,
    activeAt: from.activeAt,
  };
}

/** A series first seen in `point`: the partition's next order, not active. */
export function newSeriesBase<P extends ThresholdPlan | AbsencePlan>(state: PartitionState, plan: P, key: string, point: Point) {
  return seriesBase(plan, key, state.nextOrder++, { serviceId: point.serviceId, metric: point.name, labels: point.labels, activeAt: 0 });
}

/** The series of a threshold rule for `key`, created inactive on its first point. */
export function thresholdSeries(state: PartitionState, plan: ThresholdPlan, key: string, point: Point): ThresholdSeries {
  const map = state.threshold[plan.slot];
  let series = map.get(key);
  if (series === undefined) {
    series = { ...newSeriesBase(state, plan, key, point), status: 'inactive', lastEnd: -Infinity, windows: [] };
    map.set(key, series);
  }
  return series;
}

/** Adds a value to the series' window starting at `start`, opening it (and scheduling its close) if needed. */
export function addToWindow(
  state: PartitionState,
  series: ThresholdSeries,
  start: number,
  value: number,
  context: string | undefined,
): void {
  const windows = series.windows;
  let i = windows.length - 1;
  while (i >= 0 && windows[i].start > start) i--;
  let window = windows[i];
  if (window === undefined || window.start !== start) {
    const end = start + series.plan.sizeMs;
    window = {
      start,
      end,
      count: 0,
      sum: 0,
      min: Infinity,
      max: -Infinity,
      sketch: series.plan.quantile === undefined ? undefined : new LogSketch(),
      context: undefined,
    };
    windows.splice(i + 1, 0, window);
    scheduleAt(state, series, end);
  }
  window.count++;
  window.sum += value;
  if (value < window.min) window.min = value;
  if (value > window.max) window.max = value;
  window.sketch?.add(value);
  if (context !== undefined) window.context = context;
}

/** Makes the series due at window end `end` (a window to close, or a gap to evaluate as empty). */
export function scheduleAt(state: PartitionState, series: ThresholdSeries, end: number): void {
  let bucket = state.due.get(end);
  if (bucket === undefined) {
    bucket = new Set();
    state.due.set(end, bucket);
    insertSorted(state.dueEnds, end);
  }
  bucket.add(series);
}

function insertSorted(sorted: number[], value: number): void {
  let i = sorted.length;
  while (i > 0 && sorted[i - 1] > value) i--;
  sorted.splice(i, 0, value);
}
