import { z } from 'zod';
import { excerpt, unsafeTextReason } from '@qls/config';
import { metricPointFields } from '@qls/metrics-contracts';
import { type FieldIssue, MetricsValidationError, ServiceMismatchError } from './ingest.errors';

/** Strict: a misspelt optional field (`label` for `labels`) must fail, not pass silently. */
const pointSchema = z.strictObject(metricPointFields);

/** A point as a caller sends it: the `metrics-raw` record without `schemaVersion`. */
export type IngestPoint = z.infer<typeof pointSchema>;

export interface IngestLimits {
  /** Most points in one request. */
  readonly maxPointsPerRequest: number;
  /** Oldest accepted timestamp, this long before now: the storage retention (older points have no partition to land in). */
  readonly maxPointAgeMs: number;
  /** Latest accepted timestamp, this long after now: clock skew between the caller and us. */
  readonly maxFutureSkewMs: number;
}

export const ingestDefaults: IngestLimits = { maxPointsPerRequest: 5_000, maxPointAgeMs: 30 * 86_400_000, maxFutureSkewMs: 5 * 60_000 };

const schemas = new Map<number, z.ZodType<{ points: IngestPoint[] }>>();

/** The body of `POST /metrics` with at most `maxPoints` points (also its OpenAPI schema). */
export function ingestBodySchema(maxPoints: number): z.ZodType<{ points: IngestPoint[] }> {
  let schema = schemas.get(maxPoints);
  if (schema === undefined) {
    schema = z.strictObject({
      points: z
        .array(pointSchema, { error: 'expected an array of points' })
        .min(1, 'expected at least 1 point')
        .max(maxPoints, `expected at most ${maxPoints} points`),
    });
    schemas.set(maxPoints, schema);
  }
  return schema;
}

/**
 * Parses `POST /metrics`: `{ "points": [{ serviceId, name, value, timestamp, labels? }, ...] }`,
 * 1 to `maxPointsPerRequest` points, each as `metricPointFields` (libs/metrics/contracts)
 * describes it, with a timestamp within the retention and the allowed skew
 * and label values Postgres can store. Unknown fields are refused, in the
 * body and in every point.
 *
 * @throws MetricsValidationError naming the first bad field with its point index (`points[3].value`) and listing every problem
 */
export function parseIngestRequest(body: unknown, limits: IngestLimits = ingestDefaults, now: number = Date.now()): IngestPoint[] {
  // Before parsing thousands of points only to refuse the count.
  const points = isRecord(body) ? body['points'] : undefined;
  if (Array.isArray(points) && points.length > limits.maxPointsPerRequest) {
    throw new MetricsValidationError([
      { field: 'points', message: `points: expected at most ${limits.maxPointsPerRequest} points, got ${points.length}` },
    ]);
  }
  const parsed = ingestBodySchema(limits.maxPointsPerRequest).safeParse(body, { reportInput: true });
  const [first, ...rest] = parsed.success ? boundsIssues(parsed.data.points, limits, now) : parsed.error.issues.flatMap(describeIssue);
  if (parsed.success && first === undefined) return parsed.data.points;
  throw new MetricsValidationError(first ? [first, ...rest] : [{ field: undefined, message: 'invalid request' }]);
}

/**
 * What the shape cannot say, checked in one pass after it: a timestamp within
 * [now − maxPointAgeMs, now + maxFutureSkewMs] (not 0, not year 275760), and
 * label values Postgres stores as sent (well-formed, no NUL).
 */
function boundsIssues(points: readonly IngestPoint[], limits: IngestLimits, now: number): FieldIssue[] {
  const oldest = now - limits.maxPointAgeMs;
  const latest = now + limits.maxFutureSkewMs;
  const issues: FieldIssue[] = [];
  for (let i = 0; i < points.length && issues.length < 10; i++) {
    const point = points[i] as IngestPoint;
    if (point.timestamp < oldest || point.timestamp > latest) {
      const field = `points[${i}].timestamp`;
      issues.push({
        field,
        message: `${field}: must be between ${new Date(oldest).toISOString()} (the retention) and ${new Date(latest).toISOString()} (now + the allowed skew)`,
      });
    }
    for (const [name, value] of Object.entries(point.labels)) {
      const reason = unsafeTextReason(value);
      if (reason !== undefined) issues.push({ field: `points[${i}].labels.${name}`, message: `points[${i}].labels.${name}: ${reason}` });
    }
  }
  return issues;
}

/**
 * A service writes its own points only: every point's `serviceId` must be the caller's.
 *
 * @throws ServiceMismatchError naming the first offending point's index
 */
export function assertOwnPoints(points: readonly IngestPoint[], serviceId: string): void {
  for (let i = 0; i < points.length; i++) {
    const point = points[i] as IngestPoint;
    if (point.serviceId !== serviceId) throw new ServiceMismatchError(i, point.serviceId, serviceId);
  }
}

/** `['points', 3, 'labels', 'region']` → `points[3].labels.region`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): FieldIssue[] {
  if (issue.code === 'unrecognized_keys') {
    // Keys are caller input: echoed as short escaped excerpts only.
    return issue.keys.slice(0, 5).map((key) => {
      const field = fieldPath([...issue.path, excerpt(key)]);
      return { field, message: `${field}: unknown field` };
    });
  }
  if (issue.path.length === 0) return [{ field: undefined, message: 'body: expected a JSON object with "points"' }];
  const field = fieldPath(issue.path);
  if (issue.code === 'invalid_type' && issue.input === undefined) return [{ field, message: `${field} is required` }];
  return [{ field, message: `${field}: ${issue.message}` }];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
