import { PermanentError } from '@qls/messaging';
import { metricPointFields } from '@qls/metrics-contracts';

/** A dashboard query parameter is malformed, repeated or unknown; `field` names it. */
export class DashboardQueryError extends PermanentError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('DASHBOARD.INVALID_QUERY', `${field}: ${message}`, { context: { field } });
  }
}

export interface SeriesFilter {
  readonly serviceId?: string;
  readonly name?: string;
}

const filters = { serviceId: metricPointFields.serviceId, name: metricPointFields.name };
type FilterName = keyof typeof filters;

/**
 * Reads the query of a dashboard endpoint that takes the optional filters
 * `allowed` (`serviceId`, `name`: each validated as in a point; empty means
 * not given). Unknown and repeated parameters are refused.
 *
 * @throws DashboardQueryError naming the parameter
 */
export function parseDashboardQuery(query: Readonly<Record<string, unknown>>, allowed: readonly FilterName[]): SeriesFilter {
  const filter: { serviceId?: string; name?: string } = {};
  for (const [key, value] of Object.entries(query)) {
    if (!(allowed as readonly string[]).includes(key)) {
      throw new DashboardQueryError(
        key,
        allowed.length ? `unknown parameter (expected ${allowed.join(', ')})` : 'unknown parameter (none is taken)',
      );
    }
    if (typeof value !== 'string') throw new DashboardQueryError(key, 'expected a single value');
    if (value === '') continue;
    const parsed = filters[key as FilterName].safeParse(value);
    if (!parsed.success) throw new DashboardQueryError(key, parsed.error.issues[0]?.message ?? 'invalid');
    filter[key as FilterName] = parsed.data;
  }
  return filter;
}
