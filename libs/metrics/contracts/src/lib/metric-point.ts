import { z } from 'zod';

/** Kafka topic of raw points, keyed by serviceId (one service's points stay in order). */
export const METRICS_RAW_TOPIC = 'metrics-raw';
/** Side output of the windowed alerter: points later than the allowed lateness, with the reason. */
export const METRICS_LATE_TOPIC = 'metrics-late';

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/, 'label names are [a-zA-Z_][a-zA-Z0-9_]* up to 64 characters');

/** At most this many labels per point: every label set is its own series (cardinality). */
export const MAX_LABELS = 16;

/** One measurement as callers send it and as it travels on `metrics-raw` (plus `schemaVersion`). */
export const metricPointFields = {
  serviceId: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[a-zA-Z0-9._-]+$/, 'serviceId is [a-zA-Z0-9._-]'),
  name: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'metric names follow the Prometheus rules [a-zA-Z_:][a-zA-Z0-9_:]*'),
  value: z.number().finite(),
  /** Event time in epoch milliseconds (when it was measured, not when it arrived). */
  timestamp: z.number().int().nonnegative(),
  labels: z
    .record(labelName, z.string().max(200))
    .default({})
    .refine((labels) => Object.keys(labels).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`),
};

/** The record value on `metrics-raw`. Consumers tolerate unknown fields; another `schemaVersion` is a poison record. */
export const metricPointV1 = z.looseObject({ schemaVersion: z.literal(1), ...metricPointFields });
export type MetricPoint = z.infer<typeof metricPointV1>;

/** Parses a `metrics-raw` record value; throws a ZodError naming the field (the caller routes it to a side output). */
export function parseMetricPoint(value: string): MetricPoint {
  return metricPointV1.parse(JSON.parse(value));
}

/** Encodes a point for `metrics-raw`. */
export function encodeMetricPoint(point: Omit<MetricPoint, 'schemaVersion'>): string {
  return JSON.stringify({
    schemaVersion: 1,
    serviceId: point.serviceId,
    name: point.name,
    value: point.value,
    timestamp: point.timestamp,
    labels: point.labels,
  });
}

/**
 * The identity of a series: service, metric name and the label set with its
 * names sorted, so `{a,b}` and `{b,a}` are one series.
 */
export function seriesKey(point: Pick<MetricPoint, 'serviceId' | 'name' | 'labels'>): string {
  const names = Object.keys(point.labels);
  if (names.length === 0) return `${point.serviceId}|${point.name}`;
  names.sort();
  let key = `${point.serviceId}|${point.name}`;
  for (const name of names) key += `|${name}=${point.labels[name]}`;
  return key;
}
