import { seriesKey } from '@qls/metrics-contracts';
import { type AbsenceSeries, type PartitionState, type ThresholdSeries, byDeadline, seriesBase } from './partition-state';
import type { Plan } from './plans';
import { LogSketch } from './sketch';
import type { AbsenceSeriesSnapshot, PartitionSnapshot, ThresholdSeriesSnapshot } from './types';

/** JSON has no −Infinity ("before anything"): snapshots write null. */
const toJson = (value: number): number | null => (value === -Infinity ? null : value);
const fromJson = (value: number | null): number => value ?? -Infinity;

/** Everything the partition's future outputs depend on, as JSON-safe data. */
export function snapshotPartition(state: PartitionState, plans: readonly Plan[]): PartitionSnapshot {
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
    rules: Object.fromEntries(plans.map((plan) => [plan.rule.name, plan.signature])),
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
    seen: state.seen.toJSON(),
  };
}

/**
 * Fills a fresh partition state from a snapshot. The states of rules that are
 * gone, or whose selection or window changed (their signature), are dropped.
 */
export function restorePartition(state: PartitionState, snapshot: PartitionSnapshot, plansByName: ReadonlyMap<string, Plan>): void {
  if (snapshot.version !== 1) throw new Error(`unsupported partition snapshot version ${String(snapshot.version)}`);
  state.maxTs = fromJson(snapshot.maxTs);
  state.applied = fromJson(snapshot.applied);
  state.idleWatermark = fromJson(snapshot.idleWatermark);
  state.nextOrder = snapshot.nextOrder;
  const unchanged = <K extends Plan['kind']>(name: string, kind: K) => {
    const plan = plansByName.get(name);
    return plan?.kind === kind && snapshot.rules[name] === plan.signature ? (plan as Extract<Plan, { kind: K }>) : undefined;
  };
  const thresholdByOrder = new Map<number, ThresholdSeries>();
  for (const s of snapshot.threshold) {
    const plan = unchanged(s.rule, 'threshold');
    if (plan === undefined) continue;
    const key = seriesKey({ serviceId: s.serviceId, name: s.metric, labels: s.labels });
    const series: ThresholdSeries = {
      ...seriesBase(plan, key, s.order, s),
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
      ...seriesBase(plan, key, s.order, s),
      status: s.status,
      lastSeen: s.lastSeen,
      due: s.due ?? s.lastSeen + plan.timeoutMs,
      context: s.context,
    };
    state.absence[plan.slot].set(key, series);
    absenceByOrder.set(s.order, series);
  }
  state.deadlines.push(...snapshot.deadlines.flatMap((order) => absenceByOrder.get(order) ?? []));
  state.seen.restore(snapshot.seen ?? []);
  // Entries of dropped rules leave holes in the heap order: rebuild it (a sorted array is a heap).
  if (state.deadlines.length < snapshot.deadlines.length) state.deadlines.sort((a, b) => (byDeadline(a, b) ? -1 : 1));
}
