import { MetricsValidationError, ServiceMismatchError } from './ingest.errors';
import { assertOwnPoints, fieldPath, ingestDefaults, parseIngestRequest } from './ingest.request';

/** "Now" for these tests: the points' timestamps are a minute before it. */
const NOW = 1_700_000_060_000;

const point = (overrides: Record<string, unknown> = {}) => ({
  serviceId: 'checkout',
  name: 'http_request_duration_ms',
  value: 12.5,
  timestamp: 1_700_000_000_000,
  labels: { region: 'eu' },
  ...overrides,
});

function validationErrorOf(body: unknown, maxPointsPerRequest = 5_000): MetricsValidationError {
  try {
    parseIngestRequest(body, { ...ingestDefaults, maxPointsPerRequest }, NOW);
  } catch (error) {
    if (error instanceof MetricsValidationError) return error;
    throw error;
  }
  throw new Error('expected a MetricsValidationError');
}

describe('parseIngestRequest', () => {
  it('bounds a timestamp by the retention and the allowed skew, and refuses label values Postgres would not store as sent', () => {
    const limits = { ...ingestDefaults, maxPointAgeMs: 60_000, maxFutureSkewMs: 1_000 };
    const ok = [NOW - 60_000, NOW + 1_000].map((timestamp) => point({ timestamp }));
    expect(parseIngestRequest({ points: ok }, limits, NOW)).toEqual(ok);

    for (const timestamp of [0, NOW - 60_001, NOW + 1_001, 8.64e15]) {
      expect(() => parseIngestRequest({ points: [point(), point({ timestamp })] }, limits, NOW)).toThrow(
        expect.objectContaining({ field: 'points[1].timestamp' }),
      );
    }
    expect(() => parseIngestRequest({ points: [point({ labels: { pod: 'a\ud800' } })] }, limits, NOW)).toThrow(
      expect.objectContaining({ field: 'points[0].labels.pod' }),
    );
  });

  it('returns the points, with labels defaulting to none', () => {
    const { labels: _labels, ...unlabelled } = point();
    expect(parseIngestRequest({ points: [point(), unlabelled] }, ingestDefaults, NOW)).toEqual([point(), { ...unlabelled, labels: {} }]);
  });

  it('names the field and the index of the first bad point, and lists every problem', () => {
    const error = validationErrorOf({ points: [point(), point(), point(), point({ value: 'fast' }), point({ name: '9lives' })] });

    expect(error.field).toBe('points[3].value');
    expect(error.message).toMatch(/^points\[3\]\.value: .*number.*; points\[4\]\.name: metric names follow the Prometheus rules/);
    expect(error.issues.map((issue) => issue.field)).toEqual(['points[3].value', 'points[4].name']);
  });

  it('refuses unknown fields in the body and in a point, naming them', () => {
    expect(validationErrorOf({ points: [point()], dryRun: true }).message).toBe('dryRun: unknown field');
    const error = validationErrorOf({ points: [point(), point({ label: { a: 'b' } })] });
    expect(error.field).toBe('points[1].label');
    expect(error.message).toBe('points[1].label: unknown field');
  });

  it('says which required field is missing and names a bad label', () => {
    const { timestamp: _timestamp, ...noTimestamp } = point();
    expect(validationErrorOf({ points: [noTimestamp] }).message).toBe('points[0].timestamp is required');
    expect(validationErrorOf({ points: [point({ labels: { 'bad-name': 'x' } })] }).field).toBe('points[0].labels.bad-name');
    expect(validationErrorOf({ points: [point({ timestamp: 1.5 })] }).field).toBe('points[0].timestamp');
    expect(validationErrorOf({ points: [point({ value: Number.NaN })] }).field).toBe('points[0].value');
  });

  it('refuses a body that is not an object with a non-empty points array', () => {
    expect(validationErrorOf([point()])).toMatchObject({ field: undefined, message: 'body: expected a JSON object with "points"' });
    expect(validationErrorOf(undefined).field).toBeUndefined();
    expect(validationErrorOf({}).message).toBe('points is required');
    expect(validationErrorOf({ points: [] }).message).toBe('points: expected at least 1 point');
    expect(validationErrorOf({ points: 'many' }).message).toBe('points: expected an array of points');
  });

  it('refuses more points than the limit before looking at any of them', () => {
    const error = validationErrorOf({ points: [point(), point(), 'not even a point'] }, 2);
    expect(error).toMatchObject({ field: 'points', message: 'points: expected at most 2 points, got 3' });
  });

  it('keeps the message short when every one of thousands of points is bad', () => {
    const error = validationErrorOf({ points: Array.from({ length: 3_000 }, () => point({ value: null })) });
    expect(error.issues).toHaveLength(3_000);
    expect(error.message).toMatch(/; and 2990 more$/);
    expect(error.message.length).toBeLessThan(1_000);
  });
});

describe('assertOwnPoints', () => {
  it('passes the caller’s own points and names the index of the first foreign one', () => {
    expect(() => assertOwnPoints([point(), point()], 'checkout')).not.toThrow();
    let error: unknown;
    try {
      assertOwnPoints([point(), point(), point({ serviceId: 'billing' })], 'checkout');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ServiceMismatchError);
    expect(error).toMatchObject({ code: 'METRICS.SERVICE_MISMATCH', field: 'points[2].serviceId', index: 2 });
    expect((error as Error).message).toBe('points[2].serviceId: "billing" is not the authenticated service "checkout" (the token subject)');
  });
});

describe('fieldPath', () => {
  it('writes indexes in brackets and names with dots', () => {
    expect(fieldPath(['points', 3, 'labels', 'region'])).toBe('points[3].labels.region');
    expect(fieldPath([])).toBe('');
  });
});
