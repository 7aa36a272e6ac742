import { createHash } from 'node:crypto';
import type { AlertStatus } from '@qls/metrics-contracts';
import type { AbsenceRule, Rule, ThresholdRule } from './rules';
import type { AlertTransition } from './types';

/** The series an alert is about. */
export interface SeriesRef {
  readonly serviceId: string;
  readonly metric: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Names an alert: rule + series. `seriesKey` sorts label names, so the same
 * labels in another order give the same fingerprint.
 */
export function fingerprint(rule: string, seriesKey: string): string {
  return createHash('sha256')
    .update(JSON.stringify([rule, seriesKey]))
    .digest('hex')
    .slice(0, 16);
}

/** Builds a transition; `id` names it, so a replay that re-emits it is recognisable downstream. */
export function alertTransition(
  partition: number,
  rule: Rule,
  series: SeriesRef & { readonly fingerprint: string },
  status: AlertStatus,
  activeAt: number,
  at: number,
  value: number | null,
  summary: string,
  context: string | undefined,
): AlertTransition {
  return {
    id: `${series.fingerprint}:${activeAt}:${status}`,
    fingerprint: series.fingerprint,
    rule: rule.name,
    kind: rule.kind,
    severity: rule.severity,
    status,
    serviceId: series.serviceId,
    metric: series.metric,
    labels: series.labels,
    activeAt,
    at,
    value,
    summary,
    partition,
    ...(context === undefined ? {} : { context }),
  };
}

/** `http_latency_ms{code="500",route="/pay"}`, label names sorted. */
export function selector(series: SeriesRef): string {
  const names = Object.keys(series.labels).sort();
  if (names.length === 0) return series.metric;
  return `${series.metric}{${names.map((name) => `${name}=${JSON.stringify(series.labels[name])}`).join(',')}}`;
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

function span(start: number, end: number): string {
  return `[${new Date(start).toISOString()}, ${new Date(end).toISOString()})`;
}

/**
 * "p99 of http_latency_ms{route="/pay"} for checkout was 812 > 500 over [start, end)";
 * `value` null means the window had no data (only ever a resolution).
 */
export function thresholdSummary(
  rule: ThresholdRule,
  series: SeriesRef,
  status: AlertStatus,
  value: number | null,
  start: number,
  end: number,
): string {
  if (rule.summary !== undefined) return rule.summary;
  const over = span(start, end);
  if (value === null) return `no data for ${selector(series)} for ${series.serviceId} over ${over}`;
  const was = `${rule.aggregation} of ${selector(series)} for ${series.serviceId} was ${formatValue(value)}`;
  return status === 'resolved'
    ? `${was}, no longer ${rule.op} ${rule.threshold}, over ${over}`
    : `${was} ${rule.op} ${rule.threshold} over ${over}`;
}

/** "no heartbeat{…} for checkout for 30000 ms since …" / "heartbeat{…} for checkout is back at …". */
export function absenceSummary(rule: AbsenceRule, series: SeriesRef, status: AlertStatus, lastSeen: number, at: number): string {
  if (rule.summary !== undefined) return rule.summary;
  return status === 'resolved'
    ? `${selector(series)} for ${series.serviceId} is back at ${new Date(at).toISOString()}`
    : `no ${selector(series)} for ${series.serviceId} for ${rule.timeoutMs} ms since ${new Date(lastSeen).toISOString()}`;
}
