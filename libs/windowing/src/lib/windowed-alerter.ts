import type { AlertStatus } from '@qls/metrics-contracts';
import { seriesKey } from '@qls/metrics-contracts';
import { absenceSummary, alertTransition, fingerprint, thresholdSummary } from './alerts';
import { heapPop, heapPush } from './heap';
import { type AbsenceRule, type ComparisonOp, type Rule, type ThresholdRule, aggregateValue, checkRules, quantileOf } from './rules';
import { LogSketch } from './sketch';
import type {
  AbsenceSeriesSnapshot,
  AlerterOptions,
  AlerterOutput,
  AlerterStats,
  PartitionSnapshot,
  Point,
  RecordMeta,
  ThresholdSeriesSnapshot,
  ThresholdStatus,
  WindowResult,
} from './types';

type LabelMatch = readonly (readonly [string, string])[];

/** A threshold rule prepared for the hot path. `slot` indexes its series map in every partition. */
interface ThresholdPlan {
  readonly kind: 'threshold';
  readonly slot: number;
  readonly rule: ThresholdRule;
  readonly match: LabelMatch;
  readonly sizeMs: number;
  readonly slideMs: number;
  /** q for percentile aggregations: only those keep a sketch per window. */
  readonly quantile: number | undefined;
  /** What its state depends on (see PartitionSnapshot.rules). */
  readonly signature: string;
}

interface AbsencePlan {
  readonly kind: 'absence';
  readonly slot: number;
  readonly rule: AbsenceRule;
  readonly match: LabelMatch;
  readonly timeoutMs: number;
  readonly signature: string;
}

type Plan = ThresholdPlan | AbsencePlan;

interface OpenWindow {
  readonly start: number;
  readonly end: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  readonly sketch: LogSketch | undefined;
  context: string | undefined;
}

interface SeriesBase {
  /** Creation order within the partition: names the series in snapshots and breaks ties deterministically. */
  readonly order: number;
  readonly key: string;
  readonly fingerprint: string;
  readonly serviceId: string;
  readonly metric: string;
  readonly labels: Readonly<Record<string, string>>;
  activeAt: number;
}

interface ThresholdSeries extends SeriesBase {
  readonly plan: ThresholdPlan;
  status: ThresholdStatus;
  lastEnd: number;
  /** Open windows by start (= by end). */
  readonly windows: OpenWindow[];
}

interface AbsenceSeries extends SeriesBase {
  readonly plan: AbsencePlan;
  status: 'inactive' | 'firing';
  lastSeen: number;
  /** Heap key while inactive: a lower bound of lastSeen + timeout, refreshed when popped. */
  due: number;
  context: string | undefined;
}

interface PartitionState {
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
  /** (series, timestamp) of the points windows took, by bucket of {@link SEEN_BUCKET_MS}, while a repeat could still be taken. */
  readonly seen: Map<number, Map<string, number[]>>;
  /** The keys of `seen`, ascending. */
  readonly seenBuckets: number[];
}

/** Width of the buckets the seen points are kept (and forgotten) by. */
const SEEN_BUCKET_MS = 10_000;

const LATE_REASON = 'later than allowed lateness';

function compare(op: ComparisonOp, value: number, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

function matches(match: LabelMatch, labels: Readonly<Record<string, string>>): boolean {
  for (const [name, value] of match) if (labels[name] !== value) return false;
  return true;
}

const byDeadline = (a: AbsenceSeries, b: AbsenceSeries): boolean => a.due < b.due || (a.due === b.due && a.order < b.order);

/** JSON has no −Infinity ("before anything"): snapshots write null. */
const toJson = (value: number): number | null => (value === -Infinity ? null : value);
const fromJson = (value: number | null): number => value ?? -Infinity;

function insertSorted(sorted: number[], value: number): void {
  let i = sorted.length;
  while (i > 0 && sorted[i - 1] > value) i--;
  sorted.splice(i, 0, value);
}

/**
 * Prepares validated rules for the hot path. The signature is what a rule's
 * state depends on (selection and window, not op/threshold/severity): a
 * snapshot's states are kept on restore only if it is unchanged.
 */
function planRules(rules: readonly Rule[]): Plan[] {
  let thresholds = 0;
  let absences = 0;
  return rules.map((rule): Plan => {
    const match = Object.entries(rule.match ?? {});
    const selection = { kind: rule.kind, metric: rule.metric, match: Object.fromEntries([...match].sort(([a], [b]) => (a < b ? -1 : 1))) };
    if (rule.kind === 'absence') {
      const signature = JSON.stringify({ ...selection, timeoutMs: rule.timeoutMs });
      return { kind: 'absence', slot: absences++, rule, match, timeoutMs: rule.timeoutMs, signature };
    }
    const { sizeMs, slideMs = sizeMs } = rule.window;
    const quantile = quantileOf(rule.aggregation);
    const signature = JSON.stringify({ ...selection, sizeMs, slideMs, sketch: quantile !== undefined });
    return { kind: 'threshold', slot: thresholds++, rule, match, sizeMs, slideMs, quantile, signature };
  });
}

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
 * The semantics are in the README of libs/windowing.
 */
export class WindowedAlerter {
  private readonly outOfOrdernessMs: number;
  private readonly allowedLatenessMs: number;
  private readonly idleTimeoutMs: number;
  private readonly now: () => number;
  private readonly plans: readonly Plan[];
  private readonly plansByName: ReadonlyMap<string, Plan>;
  private readonly plansByMetric: ReadonlyMap<string, readonly Plan[]>;
  private readonly thresholdCount: number;
  private readonly absenceCount: number;
  /** A point at t can join a window until t + this ≤ its partition's late bound; then a repeat is late anyway. */
  private readonly seenHorizonMs: number;
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
    this.thresholdCount = this.plans.filter((plan) => plan.kind === 'threshold').length;
    this.absenceCount = this.plans.length - this.thresholdCount;
    this.plansByName = new Map(this.plans.map((plan) => [plan.rule.name, plan]));
    const maxSizeMs = Math.max(0, ...this.plans.map((plan) => (plan.kind === 'threshold' ? plan.sizeMs : 0)));
    this.seenHorizonMs = SEEN_BUCKET_MS + maxSizeMs + this.allowedLatenessMs;
    const byMetric = new Map<string, Plan[]>();
    for (const plan of this.plans) byMetric.set(plan.rule.metric, [...(byMetric.get(plan.rule.metric) ?? []), plan]);
    this.plansByMetric = byMetric;
  }

  /** Takes a partition on, fresh or from a snapshot. Counts as activity for idleness. Throws if already assigned. */
  assign(partition: number, snapshot?: PartitionSnapshot): void {
    if (this.states.has(partition)) throw new Error(`partition ${partition} is already assigned; revoke it first`);
    const state: PartitionState = {
      maxTs: -Infinity,
      applied: -Infinity,
      idleWatermark: -Infinity,
      nextOrder: 0,
      lastActivity: this.now(),
      threshold: Array.from({ length: this.thresholdCount }, () => new Map()),
      absence: Array.from({ length: this.absenceCount }, () => new Map()),
      due: new Map(),
      dueEnds: [],
      deadlines: [],
      seen: new Map(),
      seenBuckets: [],
    };
    if (snapshot !== undefined) this.restore(state, snapshot);
    this.states.set(partition, state);
    this.assigned = [...this.states.keys()].sort((a, b) => a - b);
  }

  /** Drops a partition's state without emitting anything (another instance continues from its snapshot). */
  revoke(partition: number): void {
    this.states.delete(partition);
    this.assigned = this.assigned.filter((p) => p !== partition);
  }

  partitions(): number[] {
    return [...this.assigned];
  }

  /** The global watermark W: never decreases; −Infinity until every active partition has seen a record. */
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
    const lateBound = Math.max(state.maxTs - this.outOfOrdernessMs, state.applied);
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
      this.forgetSeen(state);
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
    const base = (s: ThresholdSeries | AbsenceSeries) => ({
      rule: s.plan.rule.name,
      order: s.order,
      serviceId: s.serviceId,
      metric: s.metric,
      labels: { ...s.labels },
      activeAt: s.activeAt,
    });
    return {
      version: 1,
      maxTs: toJson(state.maxTs),
      applied: toJson(state.applied),
      idleWatermark: toJson(state.idleWatermark),
      nextOrder: state.nextOrder,
      rules: Object.fromEntries(this.plans.map((plan) => [plan.rule.name, plan.signature])),
      threshold: state.threshold.flatMap((map) =>
        [...map.values()].map(
          (s): ThresholdSeriesSnapshot => ({
            ...base(s),
            status: s.status,
            lastEnd: toJson(s.lastEnd),
            windows: s.windows.map((w) => ({
              start: w.start,
              count: w.count,
              sum: w.sum,
              min: w.min,
              max: w.max,
              ...(w.context === undefined ? {} : { context: w.context }),
              ...(w.sketch === undefined ? {} : { sketch: w.sketch.toJSON() }),
            })),
          }),
        ),
      ),
      absence: state.absence.flatMap((map) =>
        [...map.values()].map(
          (s): AbsenceSeriesSnapshot => ({
            ...base(s),
            status: s.status,
            lastSeen: s.lastSeen,
            due: s.status === 'inactive' ? s.due : null,
            ...(s.context === undefined ? {} : { context: s.context }),
          }),
        ),
      ),
      due: state.dueEnds.map((end) => [end, [...(state.due.get(end) ?? [])].map((s) => s.order)]),
      deadlines: state.deadlines.map((s) => s.order),
      seen: seenSnapshot(state.seen),
    };
  }

  private restore(state: PartitionState, snapshot: PartitionSnapshot): void {
    if (snapshot.version !== 1) throw new Error(`unsupported partition snapshot version ${String(snapshot.version)}`);
    state.maxTs = fromJson(snapshot.maxTs);
    state.applied = fromJson(snapshot.applied);
    state.idleWatermark = fromJson(snapshot.idleWatermark);
    state.nextOrder = snapshot.nextOrder;
    const unchanged = <K extends Plan['kind']>(name: string, kind: K) => {
      const plan = this.plansByName.get(name);
      return plan?.kind === kind && snapshot.rules[name] === plan.signature ? (plan as Extract<Plan, { kind: K }>) : undefined;
    };
    const thresholdByOrder = new Map<number, ThresholdSeries>();
    for (const s of snapshot.threshold) {
      const plan = unchanged(s.rule, 'threshold');
      if (plan === undefined) continue;
      const key = seriesKey({ serviceId: s.serviceId, name: s.metric, labels: s.labels });
      const series: ThresholdSeries = {
        plan,
        order: s.order,
        key,
        fingerprint: fingerprint(s.rule, key),
        serviceId: s.serviceId,
        metric: s.metric,
        labels: s.labels,
        activeAt: s.activeAt,
        status: s.status,
        lastEnd: fromJson(s.lastEnd),
        windows: s.windows.map((w) => ({
          start: w.start,
          end: w.start + plan.sizeMs,
          count: w.count,
          sum: w.sum,
          min: w.min,
          max: w.max,
          sketch: w.sketch === undefined ? undefined : LogSketch.fromJSON(w.sketch),
          context: w.context,
        })),
      };
      state.threshold[plan.slot].set(key, series);
      thresholdByOrder.set(s.order, series);
    }
    for (const [end, orders] of snapshot.due) {
      const bucket = new Set(orders.flatMap((order) => thresholdByOrder.get(order) ?? []));
      if (bucket.size === 0) continue;
      state.due.set(end, bucket);
      state.dueEnds.push(end);
    }
    const absenceByOrder = new Map<number, AbsenceSeries>();
    for (const s of snapshot.absence) {
      const plan = unchanged(s.rule, 'absence');
      if (plan === undefined) continue;
      const key = seriesKey({ serviceId: s.serviceId, name: s.metric, labels: s.labels });
      const series: AbsenceSeries = {
        plan,
        order: s.order,
        key,
        fingerprint: fingerprint(s.rule, key),
        serviceId: s.serviceId,
        metric: s.metric,
        labels: s.labels,
        activeAt: s.activeAt,
        status: s.status,
        lastSeen: s.lastSeen,
        due: s.due ?? s.lastSeen + plan.timeoutMs,
        context: s.context,
      };
      state.absence[plan.slot].set(key, series);
      absenceByOrder.set(s.order, series);
    }
    state.deadlines.push(...snapshot.deadlines.flatMap((order) => absenceByOrder.get(order) ?? []));
    for (const [key, deltas] of snapshot.seen ?? []) {
      let t = 0;
      for (const delta of deltas) {
        t += delta;
        this.remember(state, key, t);
      }
    }
    // Entries of dropped rules leave holes in the heap order: rebuild it (a sorted array is a heap).
    if (state.deadlines.length < snapshot.deadlines.length) state.deadlines.sort((a, b) => (byDeadline(a, b) ? -1 : 1));
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
        duplicate ??= !this.remember(state, key, t);
        if (duplicate) break;
        series ??= this.thresholdSeries(state, plan, key, point);
        this.addToWindow(state, series, start, value, context);
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

  /** Records (series, t) as taken; false when it already was. */
  private remember(state: PartitionState, key: string, t: number): boolean {
    const bucketStart = Math.floor(t / SEEN_BUCKET_MS) * SEEN_BUCKET_MS;
    let bucket = state.seen.get(bucketStart);
    if (bucket === undefined) {
      bucket = new Map();
      state.seen.set(bucketStart, bucket);
      insertSorted(state.seenBuckets, bucketStart);
    }
    // An array, not a Set: a series has few points per bucket, and a small array is cheaper to make and scan.
    const times = bucket.get(key);
    if (times === undefined) {
      bucket.set(key, [t]);
    } else {
      if (times.includes(t)) return false;
      times.push(t);
    }
    return true;
  }

  /** Forgets the points no window can take a repeat of any more (see {@link process}). */
  private forgetSeen(state: PartitionState): void {
    const lateBound = Math.max(state.maxTs - this.outOfOrdernessMs, state.applied);
    const buckets = state.seenBuckets;
    while (buckets.length > 0 && buckets[0] + this.seenHorizonMs <= lateBound) state.seen.delete(buckets.shift() as number);
  }

  private thresholdSeries(state: PartitionState, plan: ThresholdPlan, key: string, point: Point): ThresholdSeries {
    const map = state.threshold[plan.slot];
    let series = map.get(key);
    if (series === undefined) {
      series = {
        plan,
        order: state.nextOrder++,
        key,
        fingerprint: fingerprint(plan.rule.name, key),
        serviceId: point.serviceId,
        metric: point.name,
        labels: point.labels,
        activeAt: 0,
        status: 'inactive',
        lastEnd: -Infinity,
        windows: [],
      };
      map.set(key, series);
    }
    return series;
  }

  private addToWindow(state: PartitionState, series: ThresholdSeries, start: number, value: number, context: string | undefined): void {
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
      this.schedule(state, series, end);
    }
    window.count++;
    window.sum += value;
    if (value < window.min) window.min = value;
    if (value > window.max) window.max = value;
    window.sketch?.add(value);
    if (context !== undefined) window.context = context;
  }

  private schedule(state: PartitionState, series: ThresholdSeries, end: number): void {
    let bucket = state.due.get(end);
    if (bucket === undefined) {
      bucket = new Set();
      state.due.set(end, bucket);
      insertSorted(state.dueEnds, end);
    }
    bucket.add(series);
  }

  private closeDue(partition: number, state: PartitionState): void {
    const ends = state.dueEnds;
    while (ends.length > 0 && ends[0] + this.allowedLatenessMs <= this.globalWatermark) {
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
      const result = this.windowResult(partition, series, window);
      this.output.windows.push(result);
      this.evaluate(partition, state, series, window.start, end, result.value, true, window.context);
    } else if (series.status !== 'inactive' && series.lastEnd + series.plan.slideMs === end) {
      const aggregation = series.plan.rule.aggregation;
      const empty = aggregation === 'count' || aggregation === 'sum' ? 0 : null;
      this.evaluate(partition, state, series, end - series.plan.sizeMs, end, empty, false, undefined);
    }
    if (series.status === 'inactive' && series.windows.length === 0) state.threshold[series.plan.slot].delete(series.key);
  }

  private windowResult(partition: number, series: ThresholdSeries, w: OpenWindow): WindowResult {
    const { rule, quantile } = series.plan;
    const aggregates = {
      count: w.count,
      sum: w.sum,
      min: w.min,
      max: w.max,
      avg: w.sum / w.count,
      ...(quantile === undefined || w.sketch === undefined
        ? {}
        : { percentile: { q: quantile, value: w.sketch.quantile(quantile) as number } }),
    };
    return {
      partition,
      rule: rule.name,
      fingerprint: series.fingerprint,
      serviceId: series.serviceId,
      metric: series.metric,
      labels: series.labels,
      start: w.start,
      end: w.end,
      ...aggregates,
      value: aggregateValue(rule.aggregation, aggregates),
      ...(w.context === undefined ? {} : { context: w.context }),
    };
  }

  /** The Prometheus-like state machine, one final window at a time in end order. Emits on changes only. */
  private evaluate(
    partition: number,
    state: PartitionState,
    series: ThresholdSeries,
    start: number,
    end: number,
    value: number | null,
    hasData: boolean,
    context: string | undefined,
  ): void {
    const rule = series.plan.rule;
    const breaching = hasData && value !== null && compare(rule.op, value, rule.threshold);
    const emit = (status: AlertStatus) =>
      this.output.alerts.push(
        alertTransition(
          partition,
          rule,
          series,
          status,
          series.activeAt,
          end,
          value,
          thresholdSummary(rule, series, status, value, start, end),
          context,
        ),
      );
    if (breaching) {
      if (series.status === 'inactive') {
        series.activeAt = end;
        series.status = rule.forMs === 0 ? 'firing' : 'pending';
        emit(series.status);
      } else if (series.status === 'pending' && end - series.activeAt >= rule.forMs) {
        series.status = 'firing';
        emit('firing');
      }
    } else {
      if (series.status === 'firing') emit('resolved');
      series.status = 'inactive';
    }
    series.lastEnd = end;
    // A pending/firing series must see its next window even if no event creates it.
    if (series.status !== 'inactive') this.schedule(state, series, end + series.plan.slideMs);
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
        plan,
        order: state.nextOrder++,
        key,
        fingerprint: fingerprint(plan.rule.name, key),
        serviceId: point.serviceId,
        metric: point.name,
        labels: point.labels,
        activeAt: 0,
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

/** The seen points as [series key, ascending timestamps delta-encoded] (small numbers in the checkpoint). */
function seenSnapshot(seen: Map<number, Map<string, number[]>>): [string, number[]][] {
  const byKey = new Map<string, number[]>();
  for (const bucket of seen.values()) {
    for (const [key, times] of bucket) {
      const all = byKey.get(key);
      if (all === undefined) byKey.set(key, [...times]);
      else all.push(...times);
    }
  }
  return [...byKey.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, times]) => {
      times.sort((a, b) => a - b);
      return [key, times.map((t, i) => (i === 0 ? t : t - (times[i - 1] as number)))];
    });
}
