import { MetricsRegistry } from '@qls/observability';
import type { LagReadResult, LagSource } from './lag-reader';
import { LagMetrics } from './lag-metrics';
import { LagMonitor } from './lag-monitor';
import { type GroupLagSnapshot, type LagTarget, partitionLag } from './lag-snapshot';

const target: LagTarget = { groupId: 'storage', topic: 'metrics-raw' };

function snapshot(at: number, committed: (number | null)[], memberIds: string[], state = 'Stable'): GroupLagSnapshot {
  return {
    ...target,
    at,
    group: { state, members: memberIds.length, memberIds },
    retentionMs: 3_600_000,
    partitions: committed.map((c, partition) =>
      partitionLag(
        {
          partition,
          committedOffset: c,
          logStartOffset: 0,
          logEndOffset: 100,
          oldestUnconsumedTimestamp: at - 60_000,
          assigned: memberIds.length > 0,
        },
        at,
        3_600_000,
      ),
    ),
  };
}

/** Answers each read with the next scripted result. */
class ScriptedSource implements LagSource {
  constructor(private readonly script: (LagReadResult | Error)[]) {}
  async readAll(): Promise<LagReadResult> {
    const next = this.script.shift();
    if (next === undefined) throw new Error('script exhausted');
    if (next instanceof Error) throw next;
    return next;
  }
}

async function series(registry: MetricsRegistry, name: string): Promise<Record<string, number>> {
  const metric = (await registry.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const out: Record<string, number> = {};
  for (const v of (metric?.values ?? []) as { labels: Record<string, string | number>; value: number }[]) {
    const { service: _service, ...labels } = v.labels;
    out[Object.values(labels).join('/')] = v.value;
  }
  return out;
}

describe('LagMonitor', () => {
  it('exports lag, time lag, retention and status per poll, and measures a partition that lost its commit from the log start', async () => {
    const registry = new MetricsRegistry({ service: 'test', defaultMetrics: false });
    const source = new ScriptedSource([
      { snapshots: [snapshot(1_000, [40, 100], ['a'])], failures: [] },
      { snapshots: [snapshot(16_000, [40, null], ['a'])], failures: [] },
    ]);
    const monitor = new LagMonitor(source, { targets: [target], intervalMs: 15_000, metrics: new LagMetrics(registry) });

    const [first] = await monitor.poll();
    expect(first).toMatchObject({ status: 'OK', totalLag: 60 });
    expect(await series(registry, 'kafka_consumergroup_lag')).toEqual({ 'storage/metrics-raw/0': 60, 'storage/metrics-raw/1': 0 });
    expect(await series(registry, 'kafka_consumergroup_lag_seconds')).toEqual({ 'storage/metrics-raw/0': 60, 'storage/metrics-raw/1': 0 });
    expect((await series(registry, 'kafka_consumergroup_retention_used_ratio'))['storage/metrics-raw/0']).toBeCloseTo(60 / 3_600);
    expect((await series(registry, 'kafka_consumergroup_seconds_to_data_loss'))['storage/metrics-raw/0']).toBe(3_540);
    expect(await series(registry, 'kafka_consumergroup_status')).toMatchObject({
      'storage/metrics-raw/OK': 1,
      'storage/metrics-raw/STOP': 0,
    });
    expect(await series(registry, 'kafka_consumergroup_hot_partition')).toEqual({ 'storage/metrics-raw': 0 });
    expect(await series(registry, 'kafka_lag_monitor_last_poll_timestamp_seconds')).toEqual({ 'storage/metrics-raw': 1 });

    const [second] = await monitor.poll();
    expect(second).toMatchObject({ status: 'WARN', totalLag: 160 });
    expect(await series(registry, 'kafka_consumergroup_lag')).toEqual({ 'storage/metrics-raw/0': 60, 'storage/metrics-raw/1': 100 });
    expect(Object.keys(await series(registry, 'kafka_consumergroup_lag_seconds'))).toEqual([
      'storage/metrics-raw/0',
      'storage/metrics-raw/1',
    ]);
    expect(await monitor.current()).toEqual([expect.objectContaining({ at: 16_000 })]);
  });

  it('infers rebalances from membership changes and rebalancing states between polls', async () => {
    const registry = new MetricsRegistry({ service: 'test', defaultMetrics: false });
    const polls = [
      snapshot(1, [1], []),
      snapshot(2, [1], ['a']), // joined
      snapshot(3, [1], ['a']),
      snapshot(4, [1], ['a'], 'PreparingRebalance'), // a second member is joining
      snapshot(5, [1], ['a', 'b']), // the same rebalance, finished
      snapshot(6, [1], ['b']), // a left
    ];
    const source = new ScriptedSource(polls.map((s) => ({ snapshots: [s], failures: [] })));
    const monitor = new LagMonitor(source, { targets: [target], intervalMs: 1_000, metrics: new LagMetrics(registry) });
    for (let i = 0; i < polls.length; i++) await monitor.poll();
    expect(await series(registry, 'kafka_consumergroup_rebalances_total')).toEqual({ storage: 3 });
    expect(await series(registry, 'kafka_consumergroup_members')).toEqual({ storage: 1 });
  });

  it('counts failed reads, keeping the last evaluation', async () => {
    const registry = new MetricsRegistry({ service: 'test', defaultMetrics: false });
    const source = new ScriptedSource([
      { snapshots: [snapshot(1_000, [40], ['a'])], failures: [] },
      { snapshots: [], failures: [{ target, error: new Error('coordinator not available') }] },
      new Error('brokers unreachable'),
    ]);
    const monitor = new LagMonitor(source, { targets: [target], intervalMs: 1_000, metrics: new LagMetrics(registry) });
    await monitor.poll();
    await monitor.poll();
    await expect(monitor.poll()).rejects.toThrow('brokers unreachable');
    expect(await series(registry, 'kafka_lag_monitor_poll_failures_total')).toEqual({ 'storage/metrics-raw': 2 });
    expect(await monitor.current()).toEqual([expect.objectContaining({ at: 1_000, totalLag: 60 })]);
  });
});
