import { join } from 'node:path';
import type { Admin, KafkaMessage } from 'kafkajs';
import { Pool, type PoolClient } from 'pg';
import { encodeMetricPoint } from '@qls/metrics-contracts';
import { KafkaGroupAdmin, KafkaPublisher } from '@qls/kafka';
import { MetricsRegistry } from '@qls/observability';
import { type TestTelemetry, startTestTelemetry } from '@qls/observability/testing';
import { migrate, readMigrations } from '@qls/provisioning';
import { TestResources, uniqueName, waitFor } from '@qls/testing';
import { MetricPointsStore, MetricsStorageConsumer, type StorageMetrics, createStorageMetrics } from './index';

const migrations = join(__dirname, '../../../../infra/migrations');

interface Point {
  [field: string]: unknown;
  serviceId: string;
  name: string;
  value: number;
  timestamp: number;
  labels: Record<string, string>;
}

/**
 * The storage consumer against the local Kafka and Postgres: each test has its
 * own topic (2 partitions), dead-letter topic, consumer group and schema.
 */
describe('MetricsStorageConsumer (real Kafka and Postgres)', () => {
  let resources: TestResources;
  let telemetry: TestTelemetry;
  let admin: Admin;
  let publisher: KafkaPublisher;
  let pool: Pool;
  let schema: string;
  let topic: string;
  let deadLetterTopic: string;
  let groupId: string;
  let consumers: MetricsStorageConsumer[];

  beforeAll(() => {
    telemetry = startTestTelemetry();
  });

  afterAll(async () => {
    await telemetry.shutdown();
  });

  beforeEach(async () => {
    resources = new TestResources();
    admin = resources.kafka.admin();
    await admin.connect();
    publisher = new KafkaPublisher(resources.kafka);
    ({ pool, schema } = await resources.postgres());
    await migrate(pool, readMigrations(migrations));
    [topic, deadLetterTopic] = await Promise.all([resources.topic('metrics-raw', 2), resources.topic('metrics-dead-letter', 1)]);
    groupId = uniqueName('storage');
    consumers = [];
  });

  afterEach(async () => {
    for (const consumer of consumers.splice(0)) await consumer.stop();
    await publisher.close();
    await admin.disconnect();
    await resources.cleanup();
  });

  /** A consumer on the test's topic and group writing to the test's schema (through `storePool` when given). */
  async function startConsumer(storePool: Pool = pool): Promise<{ consumer: MetricsStorageConsumer; metrics: StorageMetrics }> {
    const metrics = createStorageMetrics(new MetricsRegistry({ service: 'test', defaultMetrics: false }));
    const consumer = new MetricsStorageConsumer({
      kafka: resources.kafka,
      groupId,
      topic,
      deadLetterTopic,
      deadLetterPublisher: publisher,
      store: new MetricPointsStore(storePool),
      metrics,
      retry: { initialMs: 50, maxMs: 200 },
      maxWaitTimeMs: 100,
    });
    consumers.push(consumer);
    await consumer.start();
    return { consumer, metrics };
  }

  async function stopConsumer(consumer: MetricsStorageConsumer): Promise<void> {
    consumers = consumers.filter((c) => c !== consumer);
    await consumer.stop();
  }

  const points = (count: number, valueOffset = 0): Point[] =>
    Array.from({ length: count }, (_, i) => ({
      serviceId: `service-${i % 3}`,
      name: 'latency_ms',
      value: i + valueOffset,
      timestamp: 1_700_000_000_000 + Math.floor(i / 6) * 1_000,
      labels: { pod: `pod-${i % 2}` },
    }));

  async function produce(batch: readonly Point[], headers: Record<string, string> = {}): Promise<void> {
    await publisher.publish(
      topic,
      batch.map((p) => ({ key: p.serviceId, body: encodeMetricPoint(p), headers })),
    );
  }

  /** Resolves when the group's committed offset is the end of every partition. */
  async function caughtUp(description: string): Promise<void> {
    await waitFor(
      async () => {
        const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
        return ends.every((end) => {
          const offset = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
          return end.high === '0' || offset === end.high;
        });
      },
      { timeoutMs: 20_000, description },
    );
  }

  async function committedOffsets(): Promise<string[]> {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (committed?.partitions ?? []).map((p) => p.offset);
  }

  async function rows(): Promise<{ series_key: string; ts: number; value: number; written_at: Date }[]> {
    const { rows: found } = await pool.query<{ series_key: string; ts: string; value: number; written_at: Date }>(
      `SELECT series_key, (extract(epoch FROM ts) * 1000)::bigint AS ts, value, written_at FROM metric_points ORDER BY series_key, ts`,
    );
    return found.map((row) => ({ ...row, ts: Number(row.ts) }));
  }

  async function deadLetters(count: number): Promise<KafkaMessage[]> {
    const reader = resources.kafka.consumer({ groupId: uniqueName('dlt-reader'), maxWaitTimeInMs: 100 });
    const seen: KafkaMessage[] = [];
    await reader.connect();
    try {
      await reader.subscribe({ topic: deadLetterTopic, fromBeginning: true });
      await reader.run({ eachMessage: async ({ message }) => void seen.push(message) });
      await waitFor(() => seen.length >= count, { timeoutMs: 20_000, description: `${count} dead letters` });
    } finally {
      await reader.disconnect();
    }
    return seen;
  }

  const counter = async (metric: { get(): Promise<{ values: { value: number }[] }> }) =>
    (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);

  it('stores a redelivered point once, with the value of its first write — a later one is a duplicate, dropped and counted —, and continues the records’ trace', async () => {
    const { metrics } = await startConsumer();
    const traceId = 'c'.repeat(31) + '7';
    await produce(points(30), { traceparent: `00-${traceId}-${'d'.repeat(16)}-01` });
    await caughtUp('the first 30 points');
    expect(await rows()).toHaveLength(30);

    // The same points again, ten of them with new values: a producer retry, or a client sending twice.
    await produce([...points(30).slice(10), ...points(10, 1_000)]);
    await caughtUp('the 30 points sent again');

    const stored = await rows();
    expect(stored).toHaveLength(30);
    for (const p of points(30)) {
      const key = `${p.serviceId}|${p.name}|pod=${p.labels['pod']}`;
      expect(stored.find((r) => r.series_key === key && r.ts === p.timestamp)?.value).toBe(p.value);
    }
    expect(await counter(metrics.pointsWritten)).toBe(30);
    expect(await counter(metrics.pointsDuplicate)).toBe(30);
    const batchSpans = telemetry.spans().filter((s) => s.name === `process ${topic}`);
    expect(batchSpans.some((s) => s.spanContext().traceId === traceId)).toBe(true);
  });

  it('rewrites nothing when the group is reset to the beginning and replays the topic', async () => {
    const { consumer } = await startConsumer();
    await produce(points(30));
    await caughtUp('the first pass');
    const before = await rows();
    expect(before).toHaveLength(30);

    await stopConsumer(consumer);
    const groups = new KafkaGroupAdmin(resources.kafka);
    try {
      const plan = await groups.planResetToTimestamp(groupId, topic, 0);
      expect(plan.partitions.every((p) => p.to === '0')).toBe(true);
      await groups.applyReset(plan);
    } finally {
      await groups.close();
    }
    expect((await committedOffsets()).every((offset) => offset === '0')).toBe(true);

    const { metrics } = await startConsumer();
    await caughtUp('the replay');

    expect(await counter(metrics.pointsDuplicate)).toBe(30); // every record read again, a duplicate of its row...
    expect(await counter(metrics.pointsWritten)).toBe(0);
    expect(await rows()).toEqual(before); // ...and no row added or changed (same values, same written_at)
  });

  it('dead-letters bad records with the reason in headers, stores the rest and moves on', async () => {
    const { metrics } = await startConsumer();
    const good = points(5);
    await publisher.publish(topic, [
      { key: 'service-0', body: encodeMetricPoint(good[0] as Point) },
      { key: 'service-0', body: '{"schemaVersion":1,"serviceId":' },
      { key: 'service-0', body: JSON.stringify({ ...good[1], schemaVersion: 2 }) },
      { key: 'service-0', body: JSON.stringify({ ...good[1], schemaVersion: 1, labels: { pod: 'a\u0000b' } }) },
      { key: 'service-0', body: JSON.stringify({ ...good[1], schemaVersion: 1, value: 'fast' }), headers: { 'event-id': 'e-1' } },
      ...good.slice(1).map((p) => ({ key: p.serviceId, body: encodeMetricPoint(p) })),
    ]);
    await caughtUp('the mixed batch');

    expect(await rows()).toHaveLength(5);
    const letters = await deadLetters(4);
    const byCode = Object.fromEntries(letters.map((m) => [m.headers?.['x-error-code']?.toString(), m]));
    expect(Object.keys(byCode).sort()).toEqual([
      'METRICS.INVALID_POINT',
      'METRICS.MALFORMED_JSON',
      'METRICS.UNSTORABLE_POINT',
      'METRICS.UNSUPPORTED_SCHEMA_VERSION',
    ]);
    const invalid = byCode['METRICS.INVALID_POINT'];
    expect(invalid?.headers?.['x-error-reason']?.toString()).toMatch(/^value: /);
    expect(invalid?.headers?.['x-original-source']?.toString()).toMatch(new RegExp(`^${topic}/\\d/\\d+$`));
    expect(invalid?.headers?.['event-id']?.toString()).toBe('e-1');
    expect(invalid?.key?.toString()).toBe('service-0');
    expect(byCode['METRICS.UNSTORABLE_POINT']?.headers?.['x-error-reason']?.toString()).toBe('labels.pod: contains a NUL character');
    expect(await counter(metrics.deadLettered)).toBe(4);
  });

  it('dead-letters alone a point the database refuses, and stores the others of its batch', async () => {
    await pool.query('ALTER TABLE metric_points ADD CONSTRAINT no_negative_latency CHECK (value >= 0)');
    await startConsumer();
    const batch = points(12);
    batch[7] = { ...(batch[7] as Point), value: -1 };
    await produce(batch);
    await caughtUp('the batch with a refused point');

    expect(await rows()).toHaveLength(11);
    const [letter] = await deadLetters(1);
    expect(letter?.headers?.['x-error-code']?.toString()).toBe('STORAGE.REJECTED');
    expect(letter?.headers?.['x-error-reason']?.toString()).toMatch(/^the database refused the point: .*no_negative_latency/);
    expect(JSON.parse(letter?.value?.toString() ?? '{}')).toMatchObject({ value: -1 });
  });

  it('commits nothing while the write fails and retries it in place; stopped meanwhile, the next member writes it once', async () => {
    // The storage's connections time out after 300 ms; the test holds a lock on the table meanwhile.
    const timingOut = new Pool({
      connectionString: resources.env.DATABASE_URL,
      max: 2,
      options: `-c search_path=${schema} -c statement_timeout=300`,
    });
    resources.onCleanup(() => timingOut.end());
    const locker: PoolClient = await resources.client(pool);
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE metric_points IN ACCESS EXCLUSIVE MODE');
    const first = await startConsumer(timingOut);

    await produce(points(6));
    await waitFor(async () => (await counter(first.metrics.writeFailures)) >= 2, { description: 'two failed attempts of the write' });

    expect((await first.metrics.writeFailures.get()).values.map((v) => v.labels['reason'])).toEqual(['57014']); // statement timeout
    expect((await committedOffsets()).every((offset) => offset === '-1')).toBe(true);
    expect((await locker.query('SELECT count(*)::int AS n FROM metric_points')).rows[0]).toEqual({ n: 0 });

    // Stopping gives the write up without committing anything: the records stay for the next member.
    await stopConsumer(first.consumer);
    expect((await committedOffsets()).every((offset) => offset === '-1')).toBe(true);
    expect(await counter(first.metrics.pointsWritten)).toBe(0);

    await locker.query('ROLLBACK');
    const second = await startConsumer();
    await caughtUp('the write after the lock was released');
    expect(await rows()).toHaveLength(6);
    expect(await counter(second.metrics.pointsWritten)).toBe(6);
  });
});
