import type { Counter, MetricsRegistry } from '@qls/observability';
import type { FailedRequest } from './api-exception.filter';

/** What an API whose callers are users or services counts of their requests. */
export interface ApiRequestMetrics {
  /** Requests by `operation` and `outcome`: the operation's own (`ok`, `created`, `replayed`…), or the error code of a failed one. */
  readonly requests: Counter<'operation' | 'outcome'>;
  /** Requests let through unlimited because the rate limiter (Redis) failed. */
  readonly rateLimiterErrors: Counter;
}

/** The metric names of {@link ApiRequestMetrics} and the API they count, as its help text says it (e.g. `the feed API`). */
export interface ApiRequestMetricNames {
  readonly api: string;
  readonly requests: string;
  readonly rateLimiterErrors: string;
}

export function createApiRequestMetrics(registry: MetricsRegistry, names: ApiRequestMetricNames): ApiRequestMetrics {
  return {
    requests: registry.counter({
      name: names.requests,
      help: `Requests to ${names.api} by operation and outcome (error code on failure)`,
      labelNames: ['operation', 'outcome'],
    }),
    rateLimiterErrors: registry.counter({
      name: names.rateLimiterErrors,
      help: 'Requests let through unlimited because the rate limiter (Redis) failed',
    }),
  };
}

/** A route of one of an API's operations: its method, its path (without the query) and its `operation` label. */
export type OperationRoute<O extends string> = readonly [method: string, path: RegExp, operation: O];

/** Which operation a request is, from its method and path; undefined for other routes (health, metrics, unknown). */
export function operationByRoute<O extends string>(
  routes: readonly OperationRoute<O>[],
  method: string | undefined,
  url: string | undefined,
): O | undefined {
  const path = (url ?? '').split('?')[0] ?? '';
  return routes.find(([m, pattern]) => m === method && pattern.test(path))?.[2];
}

/** Counts an error answer under its operation, with the error code as the outcome (the exception filter's `onError`); other routes are not counted. */
export function countFailedOperation<O extends string>(
  routes: readonly OperationRoute<O>[],
  requests: Counter<'operation' | 'outcome'>,
  { method, url, outcome }: FailedRequest,
): void {
  const operation = operationByRoute(routes, method, url);
  if (operation !== undefined) requests.inc({ operation, outcome });
}
