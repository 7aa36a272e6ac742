import { migrate, readMigrations } from '@qls/provisioning';
import { suiteSchema } from '@qls/testing';
import { MetricPointsStore } from './metric-points.store';
import type { StoredPoint } from './stored-point';

const DAY = 86_400_000;

/** metric_points as migration 0003 makes it, in a schema of the test's own. */
describe('MetricPointsStore (real Postgres)', () => {
  const db = suiteSchema({ migrate, readMigrations }, { each: true });
  let store: MetricPointsStore;

  beforeEach(async () => {
    store = new MetricPointsStore(db.pool);
  });

  const point = (timestamp: number, value: number, pod = 'a'): StoredPoint => ({
    serviceId: 'checkout',
    name: 'latency_ms',
    labels: { pod },
    seriesKey: `checkout|latency_ms|pod=${pod}`,
    timestamp,
    value,
  });

  async function partitionsOf(): Promise<Record<string, number>> {
    const { rows } = await db.pool.query<{ partition: string; n: number }>(
      `SELECT tableoid::regclass::text AS partition, count(*)::int AS n FROM metric_points GROUP BY 1`,
    );
    return Object.fromEntries(rows.map((r) => [r.partition.replace(/^.*\./, ''), r.n]));
  }

  it('routes points to their UTC day partition, and to the default one where no day partition exists', async () => {
    const today = new Date(Math.floor(Date.now() / DAY) * DAY);
    expect(await store.ensurePartitions(new Date(today.getTime() - DAY), 3)).toBe(3);
    expect(await store.ensurePartitions(new Date(today.getTime() - DAY), 3)).toBe(0);

    await store.write([point(today.getTime() + 5, 1), point(today.getTime() - 1, 2), point(0, 3)]);

    const day = (ms: number) => `metric_points_${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')}`;
    expect(await partitionsOf()).toEqual({ [day(today.getTime())]: 1, [day(today.getTime() - DAY)]: 1, metric_points_default: 1 });
  });

  it('leaves a day whose points are already in the default partition there, instead of failing', async () => {
    await store.write([point(Date.UTC(2020, 0, 1, 12), 1)]);

    expect(await store.ensurePartitions(new Date(Date.UTC(2019, 11, 31)), 3)).toBe(2); // Dec 31 and Jan 2, not Jan 1
    expect(await partitionsOf()).toEqual({ metric_points_default: 1 });
    await store.write([point(Date.UTC(2020, 0, 2, 12), 1)]);
    expect(await partitionsOf()).toEqual({ metric_points_default: 1, metric_points_20200102: 1 });
  });

  it('drops the day partitions before the first kept day, and keeps that day, later ones and the default partition', async () => {
    expect(await store.ensurePartitions(new Date(Date.UTC(2020, 0, 1)), 4)).toBe(4);
    await store.write([point(Date.UTC(2020, 0, 1, 12), 1), point(Date.UTC(2020, 0, 3, 12), 2), point(Date.UTC(2019, 0, 1), 3)]);

    expect(await store.dropPartitionsBefore(new Date(Date.UTC(2020, 0, 3, 8)))).toEqual([
      'metric_points_20200101',
      'metric_points_20200102',
    ]);
    expect(await partitionsOf()).toEqual({ metric_points_20200103: 1, metric_points_default: 1 });
    expect(await store.dropPartitionsBefore(new Date(Date.UTC(2020, 0, 3)))).toEqual([]);
    const { rows } = await db.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'metric_points'::regclass ORDER BY 1`,
    );
    expect(rows.map((r) => r.name)).toEqual(['metric_points_20200103', 'metric_points_20200104', 'metric_points_default']);
  });

  it('keeps the first point of a series and timestamp, in one batch or a later one (a retried POST /metrics), and keeps millisecond timestamps exact', async () => {
    const at = 1_700_000_000_123;
    expect(await store.write([point(at, 1), point(at, 2), point(at + 1, 5)])).toBe(2);
    expect(await store.write([point(at, 3), point(at + 2, 7)])).toBe(1);

    const series = await store.series({ serviceId: 'checkout', name: 'latency_ms', from: at, to: at + 3, limit: 10 });
    expect(series).toEqual([
      { seriesKey: 'checkout|latency_ms|pod=a', labels: { pod: 'a' }, timestamp: at, value: 1 },
      { seriesKey: 'checkout|latency_ms|pod=a', labels: { pod: 'a' }, timestamp: at + 1, value: 5 },
      { seriesKey: 'checkout|latency_ms|pod=a', labels: { pod: 'a' }, timestamp: at + 2, value: 7 },
    ]);
  });

  it('answers a range of every series of a metric, oldest first, from inclusive, to exclusive, up to the limit', async () => {
    await store.write([point(1_000, 1, 'a'), point(1_000, 2, 'b'), point(2_000, 3, 'a'), point(3_000, 4, 'b')]);

    const all = await store.series({ serviceId: 'checkout', name: 'latency_ms', from: 1_000, to: 3_000, limit: 10 });
    expect(all.map((p) => [p.timestamp, p.labels['pod'], p.value])).toEqual([
      [1_000, 'a', 1],
      [1_000, 'b', 2],
      [2_000, 'a', 3],
    ]);
    expect(await store.series({ serviceId: 'checkout', name: 'latency_ms', from: 0, to: 10_000, limit: 2 })).toHaveLength(2);
    expect(await store.series({ serviceId: 'billing', name: 'latency_ms', from: 0, to: 10_000, limit: 2 })).toEqual([]);
  });
});
