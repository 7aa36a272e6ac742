import { BadRequestException, NotFoundException } from '@nestjs/common';
import { RetriableError } from '@qls/messaging';
import { AuthenticationError, IngestThrottledError, MetricsValidationError, ServiceMismatchError } from '@qls/metrics-ingest';
import { isIngestRequest, toHttpError } from './http-errors';

describe('toHttpError (metrics-ingest)', () => {
  it.each([
    [new MetricsValidationError([{ field: 'points[3].value', message: 'points[3].value: expected number' }]), 400, 'points[3].value'],
    [new ServiceMismatchError(7, 'billing', 'checkout'), 403, 'points[7].serviceId'],
    [new IngestThrottledError(5, 120_000), 429, undefined],
    [new AuthenticationError('token expired'), 401, undefined],
  ])('answers %p with %i, its code, message and field', (error, status, field) => {
    const mapped = toHttpError(error);
    expect(mapped?.status).toBe(status);
    expect(mapped?.body).toEqual({ error: { code: error.code, message: error.message, ...(field ? { field } : {}) } });
  });

  it('tells a throttled caller when to retry', () => {
    expect(toHttpError(new IngestThrottledError(5, 120_000))?.headers).toEqual({ 'Retry-After': '5' });
  });

  it('answers a failed produce with 503 and Retry-After, hiding the cause', () => {
    expect(toHttpError(new RetriableError('KAFKA.PUBLISH_FAILED', 'publishing 3 message(s) to Kafka topic metrics-raw failed'))).toEqual({
      status: 503,
      headers: { 'Retry-After': '1' },
      body: { error: { code: 'KAFKA.PUBLISH_FAILED', message: 'temporarily unavailable, retry' } },
    });
  });

  it("answers body-parser's size and syntax errors as 413 and 400, and leaves Nest's own exceptions to Nest", () => {
    const tooLarge = Object.assign(new Error('request entity too large'), {
      type: 'entity.too.large',
      status: 413,
      expose: true,
      limit: 1_048_576,
    });
    expect(toHttpError(tooLarge)).toMatchObject({ status: 413, body: { error: { code: 'REQUEST.TOO_LARGE' } } });
    expect(toHttpError(new BadRequestException('Unexpected end of JSON input'))).toMatchObject({ status: 400 });
    expect(toHttpError(new NotFoundException())).toBeUndefined();
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
