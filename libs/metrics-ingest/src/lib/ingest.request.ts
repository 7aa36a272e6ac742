import { z } from 'zod';
import { metricPointFields } from '@qls/metrics-contracts';
import { type FieldIssue, MetricsValidationError, ServiceMismatchError } from './ingest.errors';

/** Strict: a misspelt optional field (`label` for `labels`) must fail, not pass silently. */
const pointSchema = z.strictObject(metricPointFields);

/** A point as a caller sends it: the `metrics-raw` record without `schemaVersion`. */
export type IngestPoint = z.infer<typeof pointSchema>;

export interface IngestLimits {
  /** Most points in one request. */
  readonly maxPointsPerRequest: number;
}

export const ingestDefaults: IngestLimits = { maxPointsPerRequest: 5_000 };

const schemas = new Map<number, z.ZodType<{ points: IngestPoint[] }>>();

function bodySchema(maxPoints: number): z.ZodType<{ points: IngestPoint[] }> {
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
 * 1 to `maxPointsPerRequest` points, each as `metricPointFields` (libs/metrics-contracts)
 * describes it. Unknown fields are refused, in the body and in every point.
 *
 * @throws MetricsValidationError naming the first bad field with its point index (`points[3].value`) and listing every problem
 */
export function parseIngestRequest(body: unknown, limits: IngestLimits = ingestDefaults): IngestPoint[] {
  // Before parsing thousands of points only to refuse the count.
  const points = isRecord(body) ? body['points'] : undefined;
  if (Array.isArray(points) && points.length > limits.maxPointsPerRequest) {
    throw new MetricsValidationError([
      { field: 'points', message: `points: expected at most ${limits.maxPointsPerRequest} points, got ${points.length}` },
    ]);
  }
  const parsed = bodySchema(limits.maxPointsPerRequest).safeParse(body, { reportInput: true });
  if (parsed.success) return parsed.data.points;
  const [first, ...rest] = parsed.error.issues.flatMap(describeIssue);
  throw new MetricsValidationError(first ? [first, ...rest] : [{ field: undefined, message: 'invalid request' }]);
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
    return issue.keys.map((key) => {
      const field = fieldPath([...issue.path, key]);
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
