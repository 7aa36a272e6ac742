import type { z } from 'zod';
import { DEFAULT_DATE_RANGE, excerpt, strictDate } from '@qls/config';
import { metricPointFields } from '@qls/metrics-contracts';
import { PermanentError } from '@qls/messaging';
import type { SeriesQuery } from './metric-points.store';

/** A `GET /series` query parameter is missing or malformed; `field` names it. */
export class SeriesQueryError extends PermanentError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('SERIES.INVALID_QUERY', `${field}: ${message}`, { context: { field } });
  }
}

export interface SeriesQueryLimits {
  /** Largest `limit`. */
  readonly maxPoints: number;
  /** `limit` when not given. */
  readonly defaultPoints: number;
  /** `from` when not given: this long before `to`. */
  readonly defaultRangeMs: number;
}

export const seriesQueryDefaults: SeriesQueryLimits = { maxPoints: 10_000, defaultPoints: 1_000, defaultRangeMs: 3_600_000 };

const known = ['serviceId', 'name', 'from', 'to', 'limit'];
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Reads `GET /series?serviceId=&name=&from=&to=&limit=`: serviceId and name
 * (required, as in a point), from (inclusive) and to (exclusive) as epoch
 * milliseconds or ISO-8601 times with a zone (default: the last hour up to
 * now), limit 1…maxPoints. Unknown and repeated parameters are refused.
 *
 * @throws SeriesQueryError naming the parameter
 */
export function parseSeriesQuery(
  query: Readonly<Record<string, unknown>>,
  limits: SeriesQueryLimits = seriesQueryDefaults,
  now: number = Date.now(),
): SeriesQuery {
  for (const key of Object.keys(query)) {
    if (!known.includes(key)) throw new SeriesQueryError(excerpt(key), `unknown parameter (expected ${known.join(', ')})`);
    if (typeof query[key] !== 'string') throw new SeriesQueryError(key, 'expected a single value');
  }
  const text = (key: string) => query[key] as string | undefined;
  const serviceId = required('serviceId', text('serviceId'), metricPointFields.serviceId);
  const name = required('name', text('name'), metricPointFields.name);
  const to = time('to', text('to')) ?? now;
  const from = time('from', text('from')) ?? to - limits.defaultRangeMs;
  if (from >= to) throw new SeriesQueryError('from', `must be before to (${new Date(to).toISOString()})`);
  const rawLimit = text('limit');
  let limit = limits.defaultPoints;
  if (rawLimit !== undefined) {
    limit = /^\d+$/.test(rawLimit) ? Number(rawLimit) : Number.NaN;
    if (!(limit >= 1 && limit <= limits.maxPoints)) {
      throw new SeriesQueryError('limit', `expected an integer from 1 to ${limits.maxPoints}, got "${excerpt(rawLimit)}"`);
    }
  }
  return { serviceId, name, from, to, limit };
}

function required(field: string, value: string | undefined, schema: z.ZodType<string>): string {
  if (value === undefined || value === '') throw new SeriesQueryError(field, 'is required');
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new SeriesQueryError(field, parsed.error.issues[0]?.message ?? 'invalid');
  return parsed.data;
}

/**
 * Epoch ms from epoch milliseconds or an ISO-8601 time that exists (no
 * February 30th), within 1970-01-01…9999-12-31: what a point's timestamp and
 * Postgres's timestamptz both hold (year 0 is a 500 from Postgres otherwise).
 */
function time(field: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const withSeconds = value.replace(/^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(Z|[+-])/, '$1:00$2');
  const ms = /^\d{1,16}$/.test(value)
    ? Number(value)
    : ISO_TIME.test(value)
      ? (strictDate(withSeconds)?.getTime() ?? Number.NaN)
      : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new SeriesQueryError(field, `expected epoch milliseconds or an ISO-8601 time with a zone, got "${excerpt(value)}"`);
  }
  if (ms < DEFAULT_DATE_RANGE.min.getTime() || ms > DEFAULT_DATE_RANGE.max.getTime()) {
    throw new SeriesQueryError(
      field,
      `must be between ${DEFAULT_DATE_RANGE.min.toISOString()} and ${DEFAULT_DATE_RANGE.max.toISOString()}`,
    );
  }
  return ms;
}
