import { encodeMetricPoint, parseMetricPoint, seriesKey } from './metric-point';

describe('metric point contract', () => {
  const point = {
    serviceId: 'checkout',
    name: 'http_latency_ms',
    value: 12.5,
    timestamp: 1_700_000_000_000,
    labels: { route: '/pay', code: '200' },
  };

  it('round-trips through the topic encoding', () => {
    expect(parseMetricPoint(encodeMetricPoint(point))).toEqual({ schemaVersion: 1, ...point });
  });

  it('tolerates unknown fields and rejects another schema version naming the field', () => {
    expect(parseMetricPoint(JSON.stringify({ schemaVersion: 1, ...point, unit: 'ms' })).serviceId).toBe('checkout');
    expect(() => parseMetricPoint(JSON.stringify({ ...point, schemaVersion: 2 }))).toThrow(/schemaVersion/);
    expect(() => parseMetricPoint(JSON.stringify({ schemaVersion: 1, ...point, value: 'fast' }))).toThrow(/value/);
  });

  it('names one series per label set whatever the label order', () => {
    expect(seriesKey({ ...point, labels: { code: '200', route: '/pay' } })).toBe(seriesKey(point));
    expect(seriesKey({ ...point, labels: { code: '500', route: '/pay' } })).not.toBe(seriesKey(point));
    expect(seriesKey({ ...point, labels: {} })).toBe('checkout|http_latency_ms');
  });
});
