import { seriesKey } from '@qls/metrics-contracts';
import { absenceSummary, alertTransition } from './alerts';
import { heapPop, heapPush } from './heap';
import { restorePartition, snapshotPartition } from './partition-snapshot';
import {
  type AbsenceSeries,
  type PartitionState,
  type ThresholdSeries,
  addToWindow,
  byDeadline,
  lateBoundOf,
  newPartitionState,
  newSeriesBase,
  scheduleAt,
  thresholdSeries,
} from './partition-state';
import { type AbsencePlan, type Plan, matches, planRules } from './plans';
import { checkRules } from './rules';
import { evaluateWindow, windowResult } from './threshold-evaluation';
import type { AlerterOptions, AlerterOutput, AlerterStats, AlertTransition, PartitionSnapshot, Point, RecordMeta } from './types';

const LATE_REASON = 'later than allowed lateness';

function checkDuration(name: string, value: number, allowInfinity: boolean): number {
  if (!(value >= 0) || (!allowInfinity && !Number.isFinite(value))) {
    throw new RangeError(`${name} must be a non-negative${allowInfinity ? '' : ' finite'} number of milliseconds, got ${value}`);
  }
  return value;
}

/**
 * Event-time windowed alerting over Kafka partitions, without any I/O: the
 * caller feeds records in offset order per partition (`process`), calls
 * `advance` once per batch, publishes `drain()`, and checkpoints `snapshot`s.
 * The semantics are in the README of libs/metrics/windowing.
 *
 * This class routes points and moves watermarks; a partition's state and its
 * windows are in ./partition-state.ts, the threshold state machine in
 * ./threshold-evaluation.ts, snapshots in ./partition-snapshot.ts and the
 * one-point-per-(series, timestamp) memory in ./seen-points.ts.
 */
export class WindowedAlerter {
  private readonly outOfOrdernessMs: number;
  private readonly allowedLatenessMs: number;
  private readonly idleTimeoutMs: number;
  private readonly now: () => number;
  private readonly plans: readonly Plan[];
  private readonly plansByName: ReadonlyMap<string, Plan>;
  private readonly plansByMetric: ReadonlyMap<string, readonly Plan[]>;
  private readonly counts: { readonly threshold: number; readonly absence: number };
  /** How long after its timestamp a point can still join a window: the longest window + allowed lateness. */
  private readonly reachMs: number;
  private readonly states = new Map<number, PartitionState>();
  /** Assigned partitions, ascending: the order `advance` emits in. */
  private assigned: number[] = [];
  private globalWatermark = -Infinity;
  private output: AlerterOutput = { windows: [], late: [], alerts: [] };
  private processedCount = 0;
  private lateCount = 0;
  private partiallyLateCount = 0;
  private duplicateCount = 0;

  constructor(options: AlerterOptions) {
    this.outOfOrdernessMs = checkDuration('outOfOrdernessMs', options.outOfOrdernessMs, false);
    this.allowedLatenessMs = checkDuration('allowedLatenessMs', options.allowedLatenessMs, false);
    this.idleTimeoutMs = checkDuration('idleTimeoutMs', options.idleTimeoutMs, true);
    this.now = options.now ?? Date.now;
    this.plans = planRules(checkRules({ rules: options.rules }).rules);
    const thresholds = this.plans.filter((plan) => plan.kind === 'threshold').length;
    this.counts = { threshold: thresholds, absence: this.plans.length - thresholds };
    this.plansByName = new Map(this.plans.map((plan) => [plan.rule.name, plan]));
    const maxSizeMs = Math.max(0, ...this.plans.map((plan) => (plan.kind === 'threshold' ? plan.sizeMs : 0)));
    this.reachMs = maxSizeMs + this.allowedLatenessMs;
    const byMetric = new Map<string, Plan[]>();
    for (const plan of this.plans) byMetric.set(plan.rule.metric, [...(byMetric.get(plan.rule.metric) ?? []), plan]);
    this.plansByMetric = byMetric;
  }

  /** Takes a partition on, fresh or from a snapshot. Counts as activity for idleness. Throws if already assigned. */
  assign(partition: number, snapshot?: PartitionSnapshot): void {
    if (this.states.has(partition)) throw new Error(`partition ${partition} is already assigned; revoke it first`);
    const state = newPartitionState(this.counts, this.reachMs, this.now());
    if (snapshot !== undefined) restorePartition(state, snapshot, this.plansByName);
    this.states.set(partition, state);
    this.assigned = [...this.states.keys()].sort((a, b) => a - b);
    this.recomputeWatermark();
  }

  /** Drops a partition's state without emitting anything (another instance continues from its snapshot). */
  revoke(partition: number): void {
    this.states.delete(partition);
    this.assigned = this.assigned.filter((p) => p !== partition);
    this.recomputeWatermark();
  }

  /**
   * W is the minimum over the partitions this instance holds, so a change of
   * them starts it again from theirs at the next `advance`. Kept across the
   * change, a W driven by partitions that went elsewhere would be applied to
   * the ones taken on: their records would be dropped as late (seen with a
   * member that was fenced, dropped its partitions and got an earlier one back).
   * Each partition's own applied watermark is part of its state and never
   * decreases.
   */
  private recomputeWatermark(): void {
    this.globalWatermark = -Infinity;
  }

  partitions(): number[] {
    return [...this.assigned];
  }

  /** The global watermark W: never decreases while the partitions held stay the same; −Infinity until every active partition has seen a record. */
  watermark(): number {
    return this.globalWatermark;
  }

  /**
   * One record, in offset order within its partition: routes it to the windows
   * and absence states of the rules of its metric. Cheap by design — windows
   * close in `advance`, not here.
   *
   * One point per (series, timestamp), as Prometheus keeps: a point whose
   * series and timestamp a window already took is a duplicate (a retried
   * `POST /metrics`, a producer retry) and no window takes it again — the
   * first one counts. Returns false for such a duplicate. Points are
   * remembered while a window could still take a repeat; later, a repeat is
   * late like any point.
   */
  process(partition: number, point: Point, meta?: RecordMeta): boolean {
    const state = this.states.get(partition);
    if (state === undefined) throw new Error(`partition ${partition} is not assigned`);
    this.processedCount++;
    state.lastActivity = this.now();
    const lateBound = lateBoundOf(state, this.outOfOrdernessMs);
    if (point.timestamp > state.maxTs) state.maxTs = point.timestamp;
    const plans = this.plansByMetric.get(point.name);
    const counted = plans === undefined || this.route(partition, state, plans, point, meta, lateBound);
    if (state.deadlines.length > 0) this.fireAbsences(partition, state);
    return counted;
  }

  /**
   * Once per batch: recomputes W from the partitions' watermarks (wall-clock
   * advancement for idle ones), fires absence deadlines the watermarks passed,
   * then closes every window with end + allowedLateness ≤ W and evaluates the
   * threshold rules on it, partition by partition in ascending order.
   */
  advance(): void {
    if (this.states.size === 0) return;
    const now = this.now();
    let minActive = Infinity;
    let maxIdle = -Infinity;
    for (const state of this.states.values()) {
      const eventWatermark = state.maxTs - this.outOfOrdernessMs;
      if (now - state.lastActivity >= this.idleTimeoutMs) {
        const effective = Math.max(eventWatermark, now - this.outOfOrdernessMs - this.idleTimeoutMs);
        if (effective > state.idleWatermark) state.idleWatermark = effective;
        if (effective > maxIdle) maxIdle = effective;
      } else if (eventWatermark < minActive) {
        minActive = eventWatermark;
      }
    }
    const computed = minActive === Infinity ? maxIdle : minActive;
    if (computed > this.globalWatermark) this.globalWatermark = computed;
    for (const partition of this.assigned) {
      const state = this.states.get(partition) as PartitionState;
      this.fireAbsences(partition, state);
      if (this.globalWatermark > state.applied) state.applied = this.globalWatermark;
      this.closeDue(partition, state);
      state.seen.forget(lateBoundOf(state, this.outOfOrdernessMs));
    }
  }

  /** The outputs buffered since the last drain, in emission order. */
  drain(): AlerterOutput {
    const output = this.output;
    this.output = { windows: [], late: [], alerts: [] };
    return output;
  }

  stats(): AlerterStats {
    let openWindows = 0;
    let series = 0;
    for (const state of this.states.values()) {
      for (const map of state.threshold) {
        series += map.size;
        for (const s of map.values()) openWindows += s.windows.length;
      }
      for (const map of state.absence) series += map.size;
    }
    return {
      processed: this.processedCount,
      late: this.lateCount,
      partiallyLate: this.partiallyLateCount,
      duplicates: this.duplicateCount,
      openWindows,
      series,
    };
  }

  /** Everything the partition's future outputs depend on, as JSON-safe data. */
  snapshot(partition: number): PartitionSnapshot {
    const state = this.states.get(partition);
    if (state === undefined) throw new Error(`partition ${partition} is not assigned`);
    return snapshotPartition(state, this.plans);
  }

  private route(
    partition: number,
    state: PartitionState,
    plans: readonly Plan[],
    point: Point,
    meta: RecordMeta | undefined,
    lateBound: number,
  ): boolean {
    const context = meta?.context;
    // JSON has no −0: normalising it keeps min/max identical across a snapshot round trip.
    const value = point.value === 0 ? 0 : point.value;
    const t = point.timestamp;
    const lateness = this.allowedLatenessMs;
    let key: string | undefined;
    let windows = 0;
    let dropped = 0;
    /** Undefined until a window would take the point; then whether it is a duplicate. */
    let duplicate: boolean | undefined;
    for (const plan of plans) {
      if (!matches(plan.match, point.labels)) continue;
      key ??= seriesKey(point);
      if (plan.kind === 'absence') {
        this.observeAbsence(partition, state, plan, key, point, context);
        continue;
      }
      const { sizeMs, slideMs } = plan;
      const lastStart = Math.floor(t / slideMs) * slideMs;
      let series: ThresholdSeries | undefined;
      for (let start = lastStart - sizeMs + slideMs; start <= lastStart; start += slideMs) {
        windows++;
        if (start + sizeMs + lateness <= lateBound) {
          dropped++;
          continue;
        }
        duplicate ??= !state.seen.remember(key, t);
        if (duplicate) break;
        series ??= thresholdSeries(state, plan, key, point);
        addToWindow(state, series, start, value, context);
      }
    }
    if (duplicate === true) {
      this.duplicateCount++;
      return false;
    }
    if (dropped === 0) return true;
    if (dropped < windows) {
      this.partiallyLateCount++;
      return true;
    }
    this.lateCount++;
    this.output.late.push({
      point,
      partition,
      ...(meta?.offset === undefined ? {} : { offset: meta.offset }),
      reason: LATE_REASON,
      watermark: lateBound,
      lateByMs: lateBound - t,
    });
    return true;
  }

  private closeDue(partition: number, state: PartitionState): void {
    const ends = state.dueEnds;
    while (ends.length > 0 && ends[0] + this.allowedLatenessMs <= state.applied) {
      const end = ends[0];
      ends.shift();
      const bucket = state.due.get(end);
      state.due.delete(end);
      if (bucket !== undefined) for (const series of bucket) this.closeAt(partition, state, series, end);
    }
  }

  /**
   * Closes the series' window ending at `end` — or, for a pending/firing
   * series without one, evaluates the missing window as empty ("no data").
   * Windows of a series reach this in end order: an event for an end already
   * closed was dropped as late.
   */
  private closeAt(partition: number, state: PartitionState, series: ThresholdSeries, end: number): void {
    const window = series.windows[0];
    if (window !== undefined && window.end === end) {
      series.windows.shift();
      const result = windowResult(partition, series, window);
      this.output.windows.push(result);
      this.follow(state, series, end, evaluateWindow(partition, series, window.start, end, result.value, true, window.context));
    } else if (series.status !== 'inactive' && series.lastEnd + series.plan.slideMs === end) {
      const aggregation = series.plan.rule.aggregation;
      const empty = aggregation === 'count' || aggregation === 'sum' ? 0 : null;
      this.follow(state, series, end, evaluateWindow(partition, series, end - series.plan.sizeMs, end, empty, false, undefined));
    }
    if (series.status === 'inactive' && series.windows.length === 0) state.threshold[series.plan.slot].delete(series.key);
  }

  /** After a window's evaluation: emits its transition; a pending/firing series must see its next window even if no event creates it. */
  private follow(state: PartitionState, series: ThresholdSeries, end: number, transition: AlertTransition | undefined): void {
    if (transition !== undefined) this.output.alerts.push(transition);
    if (series.status !== 'inactive') scheduleAt(state, series, end + series.plan.slideMs);
  }

  private observeAbsence(
    partition: number,
    state: PartitionState,
    plan: AbsencePlan,
    key: string,
    point: Point,
    context: string | undefined,
  ): void {
    const t = point.timestamp;
    const map = state.absence[plan.slot];
    const series = map.get(key);
    if (series === undefined) {
      const created: AbsenceSeries = {
        ...newSeriesBase(state, plan, key, point),
        status: 'inactive',
        lastSeen: t,
        due: t + plan.timeoutMs,
        context,
      };
      map.set(key, created);
      heapPush(state.deadlines, created, byDeadline);
      return;
    }
    if (t <= series.lastSeen) return;
    series.lastSeen = t;
    if (context !== undefined) series.context = context;
    // The deadline heap entry of an inactive series is refreshed lazily when it comes due.
    if (series.status === 'firing' && t + plan.timeoutMs > this.absenceWatermark(state)) {
      this.output.alerts.push(
        alertTransition(
          partition,
          plan.rule,
          series,
          'resolved',
          series.activeAt,
          t,
          null,
          absenceSummary(plan.rule, series, 'resolved', t, t),
          series.context,
        ),
      );
      series.status = 'inactive';
      series.due = t + plan.timeoutMs;
      heapPush(state.deadlines, series, byDeadline);
    }
  }

  /** ew(P), raised by the wall-clock watermark of `advance` while P was idle. */
  private absenceWatermark(state: PartitionState): number {
    return Math.max(state.maxTs - this.outOfOrdernessMs, state.idleWatermark);
  }

  /** Fires every inactive absence series with lastSeen + timeout ≤ the partition's watermark, in (deadline, order) order. */
  private fireAbsences(partition: number, state: PartitionState): void {
    const heap = state.deadlines;
    const watermark = this.absenceWatermark(state);
    while (heap.length > 0 && heap[0].due <= watermark) {
      const series = heapPop(heap, byDeadline) as AbsenceSeries;
      const deadline = series.lastSeen + series.plan.timeoutMs;
      if (deadline > series.due) {
        series.due = deadline;
        heapPush(heap, series, byDeadline);
        continue;
      }
      series.status = 'firing';
      series.activeAt = deadline;
      const rule = series.plan.rule;
      const summary = absenceSummary(rule, series, 'firing', series.lastSeen, deadline);
      this.output.alerts.push(alertTransition(partition, rule, series, 'firing', deadline, deadline, null, summary, series.context));
    }
  }
}
