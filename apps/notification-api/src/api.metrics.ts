import type { FailedRequest } from '@qls/http-api';
import type { Counter, Histogram, MetricsRegistry } from '@qls/observability';

/** The API's operations, as the `operation` label. */
export type ApiOperation = 'create' | 'get';

export interface ApiMetrics {
  /** Outcome: `created`, `replayed`, `found`, or the error code (`NOTIFICATION.VALIDATION_FAILED`, `AUTH.UNAUTHENTICATED`...). */
  readonly requests: Counter<'operation' | 'outcome'>;
  readonly created: Counter<'channel'>;
  readonly rateLimiterErrors: Counter;
  /** Creates committed per transaction (group commit): near 1 when idle, larger under load. */
  readonly createBatchSize: Histogram;
}

export function createApiMetrics(registry: MetricsRegistry): ApiMetrics {
  return {
    requests: registry.counter({
      name: 'notification_api_requests_total',
      help: 'Requests to the notification API by operation and outcome (error code on failure)',
      labelNames: ['operation', 'outcome'],
    }),
    created: registry.counter({
      name: 'notifications_created_total',
      help: 'Notifications accepted and queued (repeats not counted)',
      labelNames: ['channel'],
    }),
    rateLimiterErrors: registry.counter({
      name: 'notification_api_rate_limiter_errors_total',
      help: 'Requests let through unlimited because the rate limiter (Redis) failed',
    }),
    createBatchSize: registry.histogram({
      name: 'notification_api_create_batch_size',
      help: 'Creates committed together in one Postgres transaction',
      buckets: [1, 2, 4, 8, 16, 32, 64, 100],
    }),
  };
}

/** Which operation a request is, from its method and path; undefined for other routes. */
export function operationOf(method: string | undefined, url: string | undefined): ApiOperation | undefined {
  const path = (url ?? '').split('?')[0] ?? '';
  if (method === 'POST' && /^\/notifications\/?$/.test(path)) return 'create';
  if (method === 'GET' && /^\/notifications\/[^/]+\/?$/.test(path)) return 'get';
  return undefined;
}

/** Counts a request of one of the operations answered with an error, by its outcome (the exception filter's `onError`). */
export function countFailedRequest(metrics: ApiMetrics, { method, url, outcome }: FailedRequest): void {
  const operation = operationOf(method, url);
  if (operation !== undefined) metrics.requests.inc({ operation, outcome });
}
