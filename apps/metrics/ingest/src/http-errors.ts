import { AuthenticationError, type FailedRequest, type StatusByCode } from '@qls/http-api';
import { PermanentError } from '@qls/messaging';
import { IngestErrorCode, type IngestMetrics, pointCountOf } from '@qls/metrics-ingestion';

/**
 * The only place the ingest's error codes become HTTP statuses; the answers
 * themselves (body, Retry-After, 401, 413, 5xx — a failed produce is a 503)
 * are @qls/http-api's `toHttpError`.
 */
export const statusByCode: StatusByCode = {
  [IngestErrorCode.validationFailed]: 400,
  [IngestErrorCode.serviceMismatch]: 403,
  [IngestErrorCode.throttled]: 429,
  'INGEST.RATE_LIMITED': 429,
};

/** A service over its request budget (RATE_LIMIT_PER_SECOND / RATE_LIMIT_BURST): 429 with Retry-After. */
export class IngestRateLimitedError extends PermanentError {
  constructor(readonly retryAfterSeconds: number) {
    super('INGEST.RATE_LIMITED', `this service is over its request budget; retry after ${retryAfterSeconds} s`);
  }
}

/** Whether a request is `POST /metrics` (the ingest), as opposed to the Prometheus scrape or a probe. */
export function isIngestRequest(method: string | undefined, url: string | undefined): boolean {
  return method === 'POST' && /^\/metrics\/?(\?|$)/.test(url ?? '');
}

/**
 * The exception filter's `onError`: counts a refused or failed ingest in
 * `metrics_ingest_requests_total` by outcome, and the points of a request
 * refused before the ingestor saw them (401, 429 over budget) as `rejected`.
 */
export function countFailedIngest(metrics: IngestMetrics, { method, url, body, exception, outcome }: FailedRequest): void {
  if (!isIngestRequest(method, url)) return;
  metrics.requests.inc({ outcome });
  if (exception instanceof AuthenticationError || exception instanceof IngestRateLimitedError)
    metrics.points.inc({ outcome: 'rejected' }, pointCountOf(body));
}
