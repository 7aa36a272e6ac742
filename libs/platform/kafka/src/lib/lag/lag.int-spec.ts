import type { Admin, Consumer } from 'kafkajs';
import { MetricsRegistry } from '@qls/observability';
import { suiteResources, uniqueName, waitFor } from '@qls/testing';
import { KafkaLagReader } from './lag-reader';
import { LagMetrics, countRebalances } from './lag-metrics';
import { LagMonitor } from './lag-monitor';
import { evaluateLag, windowOf } from './lag-rules';

const MINUTE = 60_000;

/**
 * The lag reader and monitor against the real local Kafka: offsets are set
 * with the admin API (a group with no members), record timestamps are set by
 * the producer (CreateTime in the past makes time lag large without waiting).
 */
describe('consumer lag (real broker)', () => {
  const suite = suiteResources({ each: true });
  let admin: Admin;
  let reader: KafkaLagReader;

  beforeEach(async () => {
    admin = await suite.resources.kafkaAdmin();
    reader = new KafkaLagReader(suite.resources.kafka);
    suite.resources.onCleanup(() => reader.close());
  });

  /** `count` records to one partition, the i-th timestamped `timestamp(i)`. */
  async function produce(
    topic: string,
    partition: number,
    count: number,
    timestamp: (i: number) => number = () => Date.now(),
  ): Promise<void> {
    await suite.resources.produce(
      topic,
      Array.from({ length: count }, (_, i) => ({ partition, value: `r${i}`, timestamp: String(timestamp(i)) })),
    );
  }

  const commit = (groupId: string, topic: string, offsets: number[]) =>
    admin.setOffsets({ groupId, topic, partitions: offsets.map((offset, partition) => ({ partition, offset: String(offset) })) });

  it('measures lag, time lag and retention use of a group that consumed part of a topic', async () => {
    const topic = await suite.resources.topic('lag', 2, { 'retention.ms': String(20 * MINUTE) });
    const groupId = uniqueName('storage');
    const base = Date.now() - 5 * MINUTE;
    await produce(topic, 0, 10, (i) => base + i * 1_000);
    await produce(topic, 1, 4);
    await commit(groupId, topic, [4, 4]);

    const snapshot = await reader.read(groupId, topic);

    expect(snapshot).toMatchObject({ groupId, topic, retentionMs: 20 * MINUTE, group: { members: 0, state: 'Empty' } });
    const [p0, p1] = snapshot.partitions;
    const timeLag = (snapshot.at - (base + 4_000)) / 1_000; // the record at the committed offset
    expect(p0).toMatchObject({
      partition: 0,
      committedOffset: 4,
      logStartOffset: 0,
      logEndOffset: 10,
      lag: 6,
      oldestUnconsumedTimestamp: base + 4_000,
      timeLagSeconds: timeLag,
      assigned: false,
    });
    expect(p0?.retentionUsedRatio).toBeCloseTo(timeLag / 1_200);
    expect(p0?.secondsToDataLoss).toBeCloseTo(1_200 - timeLag);
    expect(p1).toMatchObject({ partition: 1, committedOffset: 4, lag: 0, timeLagSeconds: 0, secondsToDataLoss: 1_200 });

    await expect(reader.read(groupId, uniqueName('missing'))).rejects.toMatchObject({ code: 'KAFKA.TOPIC_NOT_FOUND' });
  });

  it('measures lag from the log start for a partition the group never committed, and never calls the group OK', async () => {
    const topic = await suite.resources.topic('lag', 2);
    const groupId = uniqueName('alerting');
    const base = Date.now() - 5 * MINUTE;
    await produce(topic, 0, 6, (i) => base + i * 1_000);
    await produce(topic, 1, 3);
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 1, offset: '3' }] });

    const snapshot = await reader.read(groupId, topic);
    const [p0, p1] = snapshot.partitions;
    expect(p0).toMatchObject({ committedOffset: null, logStartOffset: 0, lag: 6, oldestUnconsumedTimestamp: base });
    expect(p0?.timeLagSeconds).toBeCloseTo((snapshot.at - base) / 1_000);
    expect(p1).toMatchObject({ committedOffset: 3, lag: 0 });

    const evaluation = evaluateLag(windowOf([snapshot]));
    expect(evaluation.partitions.map((p) => p.status)).toEqual(['STOP', 'OK']);
    expect(evaluation.partitions[0]?.reason).toMatch(/no committed offset while 6 record\(s\) wait from the log start 0/);
    expect({ status: evaluation.status, totalLag: evaluation.totalLag }).toEqual({ status: 'STOP', totalLag: 6 });
  });

  it('finds the hot partition: many records on one partition, few on the others, little committed', async () => {
    const topic = await suite.resources.topic('hot', 4);
    const groupId = uniqueName('dashboard');
    await produce(topic, 0, 300);
    for (const partition of [1, 2, 3]) await produce(topic, partition, 3);
    await commit(groupId, topic, [0, 1, 1, 1]);

    const evaluation = evaluateLag(windowOf([await reader.read(groupId, topic)]), { hotMinLag: 100 });

    expect(evaluation.hotPartition).toEqual({ partition: 0, lag: 300, othersMeanLag: 2 });
    expect(evaluation.totalLag).toBe(306);
    expect(evaluation.status).toBe('STOP'); // nobody consumes it
  });

  it('reports data already lost below the log start and time lag past half the retention', async () => {
    const topic = await suite.resources.topic('retention', 2, { 'retention.ms': String(10 * MINUTE) });
    const groupId = uniqueName('storage');
    const old = Date.now() - 6 * MINUTE;
    await produce(topic, 0, 5, () => old);
    await produce(topic, 1, 10);
    await commit(groupId, topic, [0, 2]);
    // What retention does to a partition: its log start moves past records nobody read.
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '6' }] });

    const evaluation = evaluateLag(windowOf([await reader.read(groupId, topic)]));

    const [p0, p1] = evaluation.partitions;
    expect(p0?.retentionUsedRatio).toBeGreaterThan(0.5);
    expect(p0?.secondsToDataLoss).toBeLessThan(4 * 60 + 1);
    expect(p1).toMatchObject({ status: 'DATA_LOSS', committedOffset: 2, logStartOffset: 6, lostRecords: 4, secondsToDataLoss: 0 });
    expect(evaluation).toMatchObject({ status: 'DATA_LOSS', retentionCritical: true, minSecondsToDataLoss: 0 });
    expect(evaluation.findings.map((f) => [f.code, f.partition])).toEqual(
      expect.arrayContaining([
        ['RETENTION', 0],
        ['DATA_LOSS', 1],
      ]),
    );
  });

  it('classifies STOP, then REWIND and STALL from real offset movements, and counts the rebalance', async () => {
    const topic = await suite.resources.topic('status', 1);
    const groupId = uniqueName('alerting');
    await produce(topic, 0, 20);
    await commit(groupId, topic, [15]);
    const registry = new MetricsRegistry({ service: 'test', defaultMetrics: false });
    const monitor = new LagMonitor(reader, {
      targets: [{ groupId, topic }],
      intervalMs: MINUTE, // polled by hand below, never started
      rules: { windowSize: 3, stopAfterMs: 10 * MINUTE },
      metrics: new LagMetrics(registry),
    });
    const status = async () => (await monitor.poll())[0]?.partitions[0]?.status;

    expect(await status()).toBe('STOP'); // lag 5, no member

    // A replay to offset 5, then a member that takes the partition and gets stuck on its first record.
    await commit(groupId, topic, [5]);
    const consumer: Consumer = suite.resources.kafka.consumer({ groupId });
    const detach = countRebalances(consumer, registry);
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    let received: string | undefined;
    suite.resources.onCleanup(async () => {
      release();
      detach();
      await consumer.disconnect();
    });
    await consumer.connect();
    await consumer.subscribe({ topic });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received ??= message.offset;
        await stuck;
      },
    });
    await waitFor(() => received, { timeoutMs: 30_000, description: 'the member to receive its first record' });
    expect(received).toBe('5');

    expect(await status()).toBe('REWIND'); // 15 -> 5 within the window, and a member owns the partition
    expect(await status()).toBe('REWIND');
    expect(await status()).toBe('STALL'); // the window is [5, 5, 5] with lag 15

    const values = async (name: string) => (await registry.registry.getSingleMetric(name)?.get())?.values.map((v) => v.value);
    expect(await values('kafka_consumergroup_rebalances_total')).toEqual([1]); // no member -> one member
    expect(await values('kafka_consumer_rebalances_total')).toEqual([1]);
    expect(await values('kafka_consumergroup_lag')).toEqual([15]);
  });
});
