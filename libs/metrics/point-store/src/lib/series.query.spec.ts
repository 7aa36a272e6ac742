import { SeriesQueryError, parseSeriesQuery } from './series.query';

const now = Date.parse('2025-03-01T12:00:00Z');

function fieldOf(query: Record<string, unknown>): { field: string; message: string } {
  try {
    parseSeriesQuery(query, undefined, now);
  } catch (error) {
    if (error instanceof SeriesQueryError) return { field: error.field, message: error.message };
    throw error;
  }
  throw new Error('expected a SeriesQueryError');
}

describe('parseSeriesQuery', () => {
  it('reads epoch milliseconds and ISO times, and defaults to the last hour and 1,000 points', () => {
    expect(
      parseSeriesQuery(
        { serviceId: 'checkout', name: 'latency_ms', from: '1000', to: '2025-03-01T11:00:00.5Z', limit: '50' },
        undefined,
        now,
      ),
    ).toEqual({
      serviceId: 'checkout',
      name: 'latency_ms',
      from: 1000,
      to: Date.parse('2025-03-01T11:00:00.5Z'),
      limit: 50,
    });
    expect(parseSeriesQuery({ serviceId: 'checkout', name: 'latency_ms' }, undefined, now)).toEqual({
      serviceId: 'checkout',
      name: 'latency_ms',
      from: now - 3_600_000,
      to: now,
      limit: 1_000,
    });
  });

  it('names the missing, malformed, repeated or unknown parameter', () => {
    expect(fieldOf({ name: 'latency_ms' })).toEqual({ field: 'serviceId', message: 'serviceId: is required' });
    expect(fieldOf({ serviceId: 'checkout', name: '9lives' }).field).toBe('name');
    expect(fieldOf({ serviceId: 'checkout', name: 'x', from: 'yesterday' })).toEqual({
      field: 'from',
      message: 'from: expected epoch milliseconds or an ISO-8601 time with a zone, got "yesterday"',
    });
    expect(fieldOf({ serviceId: 'checkout', name: 'x', to: '2025-03-01T11:00:00' }).field).toBe('to'); // no zone
    expect(fieldOf({ serviceId: 'checkout', name: 'x', from: '2000', to: '1000' }).field).toBe('from');
    expect(fieldOf({ serviceId: 'checkout', name: 'x', limit: '0' }).field).toBe('limit');
    expect(fieldOf({ serviceId: 'checkout', name: 'x', limit: '10001' }).field).toBe('limit');
    expect(fieldOf({ serviceId: ['a', 'b'], name: 'x' })).toEqual({ field: 'serviceId', message: 'serviceId: expected a single value' });
    expect(fieldOf({ serviceId: 'checkout', name: 'x', service: 'y' }).field).toBe('service');
  });
});
