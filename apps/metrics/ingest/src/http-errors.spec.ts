import { toHttpError } from '@qls/http-api';
import { RetriableError } from '@qls/messaging';
import { IngestThrottledError, MetricsValidationError, ServiceMismatchError } from '@qls/metrics-ingestion';
import { isIngestRequest, statusByCode } from './http-errors';

describe('toHttpError (metrics-ingest)', () => {
  it.each([
    [new MetricsValidationError([{ field: 'points[3].value', message: 'points[3].value: expected number' }]), 400, 'points[3].value'],
    [new ServiceMismatchError(7, 'billing', 'checkout'), 403, 'points[7].serviceId'],
    [new IngestThrottledError(5, 120_000), 429, undefined],
  ])('answers %p with %i, its code, message and field', (error, status, field) => {
    const mapped = toHttpError(error, statusByCode);
    expect(mapped?.status).toBe(status);
    expect(mapped?.body).toEqual({ error: { code: error.code, message: error.message, ...(field ? { field } : {}) } });
  });

  it('tells a throttled caller when to retry', () => {
    expect(toHttpError(new IngestThrottledError(5, 120_000), statusByCode)?.headers).toEqual({ 'Retry-After': '5' });
  });

  it('answers a failed produce with 503 and Retry-After, hiding the cause', () => {
    expect(
      toHttpError(new RetriableError('KAFKA.PUBLISH_FAILED', 'publishing 3 message(s) to Kafka topic metrics-raw failed'), statusByCode),
    ).toEqual({
      status: 503,
      headers: { 'Retry-After': '1' },
      body: { error: { code: 'KAFKA.PUBLISH_FAILED', message: 'temporarily unavailable, retry' } },
    });
  });
});

describe('isIngestRequest', () => {
  it('is POST /metrics only, not the Prometheus scrape', () => {
    expect(isIngestRequest('POST', '/metrics')).toBe(true);
    expect(isIngestRequest('POST', '/metrics/?x=1')).toBe(true);
    expect(isIngestRequest('GET', '/metrics')).toBe(false);
    expect(isIngestRequest('POST', '/metricsx')).toBe(false);
  });
});
