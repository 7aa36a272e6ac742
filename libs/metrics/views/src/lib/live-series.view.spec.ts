import type { MetricPoint } from '@qls/metrics-contracts';
import { type EvictionReason, LiveSeriesView, type LiveSeriesViewOptions } from './live-series.view';

const T0 = Date.parse('2025-03-01T12:00:00Z');

function point(timestamp: number, value: number, over: Partial<MetricPoint> = {}): MetricPoint {
  return { schemaVersion: 1, serviceId: 'checkout', name: 'latency_ms', labels: {}, value, timestamp, ...over };
}

/** A view on a clock the test moves, recording its evictions. */
function viewAt(options: Partial<LiveSeriesViewOptions> = {}) {
  let now = T0;
  const evictions: Partial<Record<EvictionReason, number>> = {};
  const view = new LiveSeriesView({
    windowSeconds: 60,
    clock: () => now,
    onEvict: (reason, count) => (evictions[reason] = (evictions[reason] ?? 0) + count),
    ...options,
  });
  return { view, evictions, setNow: (ms: number) => (now = ms) };
}

describe('LiveSeriesView', () => {
  it('keeps one point per series and timestamp: a batch delivered twice shows as once, the later copy dropped as a duplicate', () => {
    const { view } = viewAt();
    const batch = Array.from({ length: 10 }, (_, i) => point(T0 - 10_000 + i * 300, i));
    const once = viewAt().view;
    for (const p of batch) once.add(p);
    expect(batch.map((p) => view.add(p))).toEqual(batch.map(() => 'added'));
    expect(batch.map((p) => view.add({ ...p, value: p.value + 100 }))).toEqual(batch.map(() => 'duplicate'));
    expect(view.list()).toEqual(once.list());
    expect(view.list()[0]).toMatchObject({ count: 10, max: 9, avg: 4.5, last: { value: 9 } });
  });

  it('keeps last, count, min, max, avg and rate per series over the window', () => {
    const { view } = viewAt();
    // 2 points a second over the 60 one-second buckets of the window (the clock's own second is the last): values 0..119.
    for (let i = 0; i < 120; i++) expect(view.add(point(T0 - 59_000 + i * 500, i))).toBe('added');
    expect(view.add(point(T0 - 59_001, -1))).toBe('late');

    expect(view.list()).toEqual([
      {
        seriesKey: 'checkout|latency_ms',
        serviceId: 'checkout',
        name: 'latency_ms',
        labels: {},
        last: { value: 119, timestamp: T0 + 500 },
        count: 120,
        min: 0,
        max: 119,
        avg: 59.5,
        rate: 2,
      },
    ]);
  });

  it('evicts points by event time as the window moves on, and then the series', () => {
    const { view, evictions, setNow } = viewAt({ windowSeconds: 10 });
    view.add(point(T0 - 9_000, 100)); // second T0-9 s: in the window until the clock reaches T0+1 s
    view.add(point(T0 - 1_000, 1));
    view.add(point(T0, 2));
    expect(view.list()[0]).toMatchObject({ count: 3, min: 1, max: 100 });

    setNow(T0 + 1_000);
    expect(view.list()[0]).toMatchObject({ count: 2, min: 1, max: 2, avg: 1.5, rate: 0.2, last: { value: 2, timestamp: T0 } });

    setNow(T0 + 9_999);
    expect(view.list()[0]).toMatchObject({ count: 1, last: { value: 2 } });
    expect(view.size).toBe(1);

    setNow(T0 + 10_000); // the last point's second has left the window
    expect(view.list()).toEqual([]);
    expect(view.services()).toEqual([]);
    expect(view.size).toBe(0);
    expect(evictions).toEqual({ expired: 1 });
  });

  it('reuses a bucket whose second left the window instead of adding to it', () => {
    const { view, setNow } = viewAt({ windowSeconds: 3, maxFutureSeconds: 0 });
    view.add(point(T0, 5)); // slot of second T0
    setNow(T0 + 2_000);
    view.add(point(T0 + 2_000, 7));
    setNow(T0 + 3_000);
    expect(view.add(point(T0 + 3_000, 9))).toBe('added'); // same slot as T0's (3 slots), whose second has left the window

    expect(view.list()[0]).toMatchObject({ count: 2, min: 7, max: 9, avg: 8 });
  });

  it('counts points that arrive out of order within the window, and keeps the latest by event time as last', () => {
    const { view, setNow } = viewAt({ windowSeconds: 10 });
    expect(view.add(point(T0, 10))).toBe('added');
    expect(view.add(point(T0 - 8_000, 3))).toBe('added'); // 8 s late, still in the window
    expect(view.add(point(T0 - 500, 4))).toBe('added');
    expect(view.add(point(T0 - 10_000, 99))).toBe('late'); // its second has left the window
    expect(view.add(point(T0 + 10_999, 5))).toBe('added'); // a producer's clock 11 s ahead: tolerated
    expect(view.add(point(T0 + 11_000, 6))).toBe('future');

    expect(view.list()[0]).toMatchObject({
      count: 4,
      min: 3,
      max: 10,
      avg: 5.5,
      last: { value: 5, timestamp: T0 + 10_999 },
    });

    // The late point dropped, the out-of-order one leaves the window by its own event time.
    setNow(T0 + 2_000);
    expect(view.list()[0]).toMatchObject({ count: 3, min: 4 });
  });

  it('caps the series, evicting the least recently updated one', () => {
    const { view, evictions, setNow } = viewAt({ windowSeconds: 10, maxSeries: 2 });
    view.add(point(T0, 1, { labels: { pod: 'a' } }));
    view.add(point(T0, 1, { labels: { pod: 'b' } }));
    view.add(point(T0, 2, { labels: { pod: 'a' } })); // a is now the most recently updated
    view.add(point(T0, 1, { labels: { pod: 'c' } }));

    expect(view.list().map((s) => s.seriesKey)).toEqual(['checkout|latency_ms|pod=a', 'checkout|latency_ms|pod=c']);
    expect(view.size).toBe(2);
    expect(evictions).toEqual({ capacity: 1 });

    // An expired series makes room without evicting a live one.
    setNow(T0 + 10_000);
    view.add(point(T0 + 10_000, 1, { labels: { pod: 'd' } }));
    view.add(point(T0 + 10_000, 1, { labels: { pod: 'e' } }));
    expect(view.list().map((s) => s.seriesKey)).toEqual(['checkout|latency_ms|pod=d', 'checkout|latency_ms|pod=e']);
    expect(evictions).toEqual({ capacity: 1, expired: 2 });
  });

  it('filters by service and name, sorts by serviceId, name, labels, and sums up services', () => {
    const { view } = viewAt();
    view.add(point(T0 - 2_000, 1, { serviceId: 'payments', name: 'errors' }));
    view.add(point(T0 - 1_000, 1, { name: 'latency_ms', labels: { pod: 'b' } }));
    view.add(point(T0 - 3_000, 1, { name: 'latency_ms', labels: { pod: 'a' } }));
    view.add(point(T0 - 5_000, 1, { name: 'errors' }));

    expect(view.list().map((s) => s.seriesKey)).toEqual([
      'checkout|errors',
      'checkout|latency_ms|pod=a',
      'checkout|latency_ms|pod=b',
      'payments|errors',
    ]);
    expect(view.list({ serviceId: 'checkout', name: 'latency_ms' })).toHaveLength(2);
    expect(view.list({ name: 'errors' }).map((s) => s.serviceId)).toEqual(['checkout', 'payments']);
    expect(view.list({ serviceId: 'nobody' })).toEqual([]);
    expect(view.services()).toEqual([
      { serviceId: 'checkout', series: 3, lastSeen: T0 - 1_000 },
      { serviceId: 'payments', series: 1, lastSeen: T0 - 2_000 },
    ]);
  });

  it('refuses a window or cap that is not a positive integer', () => {
    expect(() => new LiveSeriesView({ windowSeconds: 0 })).toThrow(/windowSeconds/);
    expect(() => new LiveSeriesView({ windowSeconds: 60, maxSeries: 1.5 })).toThrow(/maxSeries/);
  });
});
