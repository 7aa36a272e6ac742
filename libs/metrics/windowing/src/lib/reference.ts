import { seriesKey } from '@qls/metrics-contracts';
import type { AlertStatus } from '@qls/metrics-contracts';
import { type SeriesRef, absenceSummary, alertTransition, fingerprint, thresholdSummary } from './alerts';
import { type AbsenceRule, type Rule, type ThresholdRule, aggregateValue, checkRules, quantileOf } from './rules';
import { quantileRank } from './sketch';
import type { AlerterOptions, AlerterOutput, AlertTransition, LateEvent, Point, RecordMeta, WindowResult } from './types';

export interface ReferenceEvent {
  readonly partition: number;
  readonly point: Point;
  readonly meta?: RecordMeta;
}

/**
 * The semantics of {@link WindowedAlerter}, computed the slow and obvious way,
 * as an oracle for tests: every event is kept in a list, lateness is the
 * definition applied per event, aggregates are computed from the kept values
 * (percentiles exactly, by sorting), absence deadlines by scanning every
 * series after every record, rules by walking final windows in end order.
 *
 * Assumes no idleness: W = min over the partitions present in `events` of
 * their event watermark (so applied(P) ≤ ew(P) and lateness is ew before the
 * event). `finalWatermark` overrides the W windows are final against.
 *
 * Outputs are the alerter's, but not in its emission order: `late` is in
 * arrival order, `windows` and threshold `alerts` grouped by series, absence
 * alerts in record order — compare alerts per (partition, fingerprint).
 */
export function referenceEvaluate(options: AlerterOptions, events: readonly ReferenceEvent[], finalWatermark?: number): AlerterOutput {
  const { rules } = checkRules({ rules: options.rules });
  const { outOfOrdernessMs, allowedLatenessMs } = options;
  const maxTs = new Map<number, number>();
  const eventWatermark = (partition: number) => (maxTs.get(partition) ?? -Infinity) - outOfOrdernessMs;
  const selects = (rule: Rule, point: Point) =>
    rule.metric === point.name && Object.entries(rule.match ?? {}).every(([name, value]) => point.labels[name] === value);

  const windows = new Map<
    string,
    { partition: number; rule: ThresholdRule; point: Point; start: number; end: number; kept: ReferenceEvent[] }
  >();
  const late: LateEvent[] = [];
  const alerts: AlertTransition[] = [];
  const absence = new Map<string, AbsenceSeries>();

  /** (partition, series, timestamp) of every point a window took: a repeat is a duplicate no window takes. */
  const taken = new Set<string>();
  for (const event of events) {
    const { partition, point, meta } = event;
    const t = point.timestamp;
    const watermarkBefore = eventWatermark(partition);
    let memberships = 0;
    let dropped = 0;
    let duplicate: boolean | undefined;
    for (const rule of rules) {
      if (rule.kind !== 'threshold' || !selects(rule, point)) continue;
      const size = rule.window.sizeMs;
      const slide = rule.window.slideMs ?? size;
      for (let k = Math.floor((t - size) / slide); k * slide <= t; k++) {
        const start = k * slide;
        if (!(start <= t && t < start + size)) continue;
        memberships++;
        if (start + size + allowedLatenessMs <= watermarkBefore) {
          dropped++;
          continue;
        }
        if (duplicate === undefined) {
          const seen = JSON.stringify([partition, seriesKey(point), t]);
          duplicate = taken.has(seen);
          taken.add(seen);
        }
        if (duplicate) continue;
        const id = JSON.stringify([partition, rule.name, seriesKey(point), start]);
        const window = windows.get(id) ?? { partition, rule, point, start, end: start + size, kept: [] };
        window.kept.push(event);
        windows.set(id, window);
      }
    }
    if (memberships > 0 && dropped === memberships) {
      late.push({
        point,
        partition,
        ...(meta?.offset === undefined ? {} : { offset: meta.offset }),
        reason: 'later than allowed lateness',
        watermark: watermarkBefore,
        lateByMs: watermarkBefore - t,
      });
    }
    maxTs.set(partition, Math.max(maxTs.get(partition) ?? -Infinity, t));
    observeAbsence(rules, selects, absence, alerts, event, eventWatermark(partition));
  }

  const partitionWatermarks = [...maxTs.keys()].map(eventWatermark);
  const watermark = finalWatermark ?? (partitionWatermarks.length === 0 ? -Infinity : Math.min(...partitionWatermarks));
  const results: WindowResult[] = [];
  const finalBySeries = new Map<string, { rule: ThresholdRule; finals: WindowResult[] }>();
  for (const window of windows.values()) {
    if (window.end + allowedLatenessMs > watermark) continue;
    const result = windowResult(window.partition, window.rule, window.point, window.start, window.end, window.kept);
    results.push(result);
    const id = JSON.stringify([window.partition, result.fingerprint]);
    const series = finalBySeries.get(id) ?? { rule: window.rule, finals: [] };
    series.finals.push(result);
    finalBySeries.set(id, series);
  }
  for (const { rule, finals } of finalBySeries.values()) alerts.push(...thresholdTransitions(rule, finals, watermark, allowedLatenessMs));
  return { windows: results, late, alerts };
}

function windowResult(
  partition: number,
  rule: ThresholdRule,
  point: Point,
  start: number,
  end: number,
  kept: ReferenceEvent[],
): WindowResult {
  const values = kept.map((e) => (e.point.value === 0 ? 0 : e.point.value));
  let sum = 0;
  for (const value of values) sum += value;
  const q = quantileOf(rule.aggregation);
  const sorted = [...values].sort((a, b) => a - b);
  const aggregates = {
    count: values.length,
    sum,
    min: sorted[0],
    max: sorted[sorted.length - 1],
    avg: sum / values.length,
    ...(q === undefined ? {} : { percentile: { q, value: sorted[quantileRank(q, sorted.length)] } }),
  };
  const context = kept.flatMap((e) => (e.meta?.context === undefined ? [] : [e.meta.context])).at(-1);
  return {
    partition,
    rule: rule.name,
    fingerprint: fingerprint(rule.name, seriesKey(point)),
    serviceId: point.serviceId,
    metric: point.name,
    labels: point.labels,
    start,
    end,
    ...aggregates,
    value: aggregateValue(rule.aggregation, aggregates),
    ...(context === undefined ? {} : { context }),
  };
}

/** The state machine over one series' final windows in end order; a missing next window while pending/firing is empty. */
function thresholdTransitions(
  rule: ThresholdRule,
  finals: WindowResult[],
  watermark: number,
  allowedLatenessMs: number,
): AlertTransition[] {
  const ordered = [...finals].sort((a, b) => a.end - b.end);
  const series = ordered[0];
  const slide = rule.window.slideMs ?? rule.window.sizeMs;
  const transitions: AlertTransition[] = [];
  let status: 'inactive' | 'pending' | 'firing' = 'inactive';
  let activeAt = 0;
  let lastEnd = -Infinity;
  const step = (end: number, window: WindowResult | undefined) => {
    const noData = rule.aggregation === 'count' || rule.aggregation === 'sum' ? 0 : null;
    const value = window === undefined ? noData : window.value;
    const breaching =
      window !== undefined &&
      {
        '>': window.value > rule.threshold,
        '>=': window.value >= rule.threshold,
        '<': window.value < rule.threshold,
        '<=': window.value <= rule.threshold,
      }[rule.op];
    const emit = (to: AlertStatus) =>
      transitions.push(
        alertTransition(
          series.partition,
          rule,
          series,
          to,
          activeAt,
          end,
          value,
          thresholdSummary(rule, series, to, value, end - rule.window.sizeMs, end),
          window?.context,
        ),
      );
    if (breaching && status === 'inactive') {
      activeAt = end;
      status = rule.forMs === 0 ? 'firing' : 'pending';
      emit(status);
    } else if (breaching && status === 'pending' && end - activeAt >= rule.forMs) {
      status = 'firing';
      emit(status);
    } else if (!breaching && status === 'firing') {
      emit('resolved');
      status = 'inactive';
    } else if (!breaching) {
      status = 'inactive';
    }
    lastEnd = end;
  };
  for (const window of ordered) {
    while (status !== 'inactive' && lastEnd + slide < window.end) step(lastEnd + slide, undefined);
    step(window.end, window);
  }
  while (status !== 'inactive' && lastEnd + slide + allowedLatenessMs <= watermark) step(lastEnd + slide, undefined);
  return transitions;
}

interface AbsenceSeries extends SeriesRef {
  readonly partition: number;
  readonly rule: AbsenceRule;
  readonly fingerprint: string;
  readonly created: number;
  lastSeen: number;
  status: 'inactive' | 'firing';
  activeAt: number;
  context: string | undefined;
}

/** Updates the series the event belongs to, then fires every series of its partition whose deadline the watermark reached. */
function observeAbsence(
  rules: readonly Rule[],
  selects: (rule: Rule, point: Point) => boolean,
  absence: Map<string, AbsenceSeries>,
  alerts: AlertTransition[],
  { partition, point, meta }: ReferenceEvent,
  watermark: number,
): void {
  const t = point.timestamp;
  for (const rule of rules) {
    if (rule.kind !== 'absence' || !selects(rule, point)) continue;
    const id = JSON.stringify([partition, rule.name, seriesKey(point)]);
    const series = absence.get(id);
    if (series === undefined) {
      absence.set(id, {
        partition,
        rule,
        fingerprint: fingerprint(rule.name, seriesKey(point)),
        serviceId: point.serviceId,
        metric: point.name,
        labels: point.labels,
        created: absence.size,
        lastSeen: t,
        status: 'inactive',
        activeAt: 0,
        context: meta?.context,
      });
    } else if (t > series.lastSeen) {
      series.lastSeen = t;
      series.context = meta?.context ?? series.context;
      if (series.status === 'firing' && t + rule.timeoutMs > watermark) {
        alerts.push(
          alertTransition(
            partition,
            rule,
            series,
            'resolved',
            series.activeAt,
            t,
            null,
            absenceSummary(rule, series, 'resolved', t, t),
            series.context,
          ),
        );
        series.status = 'inactive';
      }
    }
  }
  const due = [...absence.values()]
    .filter((s) => s.partition === partition && s.status === 'inactive' && s.lastSeen + s.rule.timeoutMs <= watermark)
    .sort((a, b) => a.lastSeen + a.rule.timeoutMs - (b.lastSeen + b.rule.timeoutMs) || a.created - b.created);
  for (const series of due) {
    const deadline = series.lastSeen + series.rule.timeoutMs;
    series.status = 'firing';
    series.activeAt = deadline;
    alerts.push(
      alertTransition(
        partition,
        series.rule,
        series,
        'firing',
        deadline,
        deadline,
        null,
        absenceSummary(series.rule, series, 'firing', series.lastSeen, deadline),
        series.context,
      ),
    );
  }
}
