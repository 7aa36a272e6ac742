import type { AlertStatus } from '@qls/metrics-contracts';
import { alertTransition, thresholdSummary } from './alerts';
import type { OpenWindow, ThresholdSeries } from './partition-state';
import { type ComparisonOp, aggregateValue } from './rules';
import type { AlertTransition, WindowResult } from './types';

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

/** A closed window's aggregates and the value its rule reads. */
export function windowResult(partition: number, series: ThresholdSeries, w: OpenWindow): WindowResult {
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

/**
 * The Prometheus-like state machine, one final window at a time in end order
 * (`hasData` false: a window without points, evaluated as `value`). Moves the
 * series' status and returns the transition to emit, on changes only.
 */
export function evaluateWindow(
  partition: number,
  series: ThresholdSeries,
  start: number,
  end: number,
  value: number | null,
  hasData: boolean,
  context: string | undefined,
): AlertTransition | undefined {
  const rule = series.plan.rule;
  const breaching = hasData && value !== null && compare(rule.op, value, rule.threshold);
  let emitted: AlertStatus | undefined;
  if (breaching) {
    if (series.status === 'inactive') {
      series.activeAt = end;
      series.status = rule.forMs === 0 ? 'firing' : 'pending';
      emitted = series.status;
    } else if (series.status === 'pending' && end - series.activeAt >= rule.forMs) {
      series.status = 'firing';
      emitted = 'firing';
    }
  } else {
    if (series.status === 'firing') emitted = 'resolved';
    series.status = 'inactive';
  }
  series.lastEnd = end;
  if (emitted === undefined) return undefined;
  const summary = thresholdSummary(rule, series, emitted, value, start, end);
  return alertTransition(partition, rule, series, emitted, series.activeAt, end, value, summary, context);
}
