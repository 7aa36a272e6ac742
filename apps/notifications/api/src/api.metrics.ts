import {
  type ApiRequestMetrics,
  type FailedRequest,
  type OperationRoute,
  countFailedOperation,
  createApiRequestMetrics,
  operationByRoute,
} from '@qls/http-api';
import type { Counter, Histogram, MetricsRegistry } from '@qls/observability';

/** The API's operations, as the `operation` label. */
export type ApiOperation = 'create' | 'get';

/** Requests' outcome: `created`, `replayed`, `found`, or the error code (`NOTIFICATION.VALIDATION_FAILED`, `AUTH.UNAUTHENTICATED`...). */
export interface ApiMetrics extends ApiRequestMetrics {
  readonly created: Counter<'channel'>;
  /** Creates committed per transaction (group commit): near 1 when idle, larger under load. */
  readonly createBatchSize: Histogram;
}

export function createApiMetrics(registry: MetricsRegistry): ApiMetrics {
  return {
    ...createApiRequestMetrics(registry, {
      api: 'the notification API',
      requests: 'notification_api_requests_total',
      rateLimiterErrors: 'notification_api_rate_limiter_errors_total',
    }),
    created: registry.counter({
      name: 'notifications_created_total',
      help: 'Notifications accepted and queued (repeats not counted)',
      labelNames: ['channel'],
    }),
    createBatchSize: registry.histogram({
      name: 'notification_api_create_batch_size',
      help: 'Creates committed together in one Postgres transaction',
      buckets: [1, 2, 4, 8, 16, 32, 64, 100],
    }),
  };
}

const routes: readonly OperationRoute<ApiOperation>[] = [
  ['POST', /^\/notifications\/?$/, 'create'],
  ['GET', /^\/notifications\/[^/]+\/?$/, 'get'],
];

/** Which operation a request is, from its method and path; undefined for other routes. */
export function operationOf(method: string | undefined, url: string | undefined): ApiOperation | undefined {
  return operationByRoute(routes, method, url);
}

/** Counts a request of one of the operations answered with an error, by its outcome (the exception filter's `onError`). */
export function countFailedRequest(metrics: ApiMetrics, request: FailedRequest): void {
  countFailedOperation(routes, metrics.requests, request);
}
