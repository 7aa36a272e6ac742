import { Kafka, logLevel } from 'kafkajs';
import { defineBenchmark, percentile } from '@qls/bench';
import { KafkaPublisher } from '@qls/kafka';
import { encodeMetricPoint, parseMetricPoint, seriesKey } from '@qls/metrics-contracts';
import { migrate, readMigrations } from '@qls/provisioning';
import { TestResources, uniqueName, waitFor } from '@qls/testing';
import type { AlerterOptions } from '@qls/metrics-windowing';
import { join } from 'node:path';
import { MetricsRegistry } from '@qls/observability';
import { createAlerterMetrics } from './lib/alerter.metrics';
import { AlerterRunner } from './lib/alerter.runner';
import { checkpointedRecords, random } from './testing/scenario';

const PARTITIONS = 12;
const RECORDS = 400_000;
const SERVICES = 200;
const LIVE_SECONDS = 15;
const LIVE_RATE = 2_000;

/** Backlog rules: a tumbling avg with `for`, a hopping p99 (sketch), an absence rule — as in production. */
const backlogOptions: AlerterOptions = {
  outOfOrdernessMs: 2_000,
  allowedLatenessMs: 5_000,
  idleTimeoutMs: 30_000,
  rules: [
    {
      kind: 'threshold',
      name: 'avg',
      metric: 'latency_ms',
      window: { sizeMs: 10_000 },
      aggregation: 'avg',
      op: '>',
      threshold: 500,
      forMs: 20_000,
    },
    {
      kind: 'threshold',
      name: 'p99',
      metric: 'latency_ms',
      window: { sizeMs: 20_000, slideMs: 10_000 },
      aggregation: 'p99',
      op: '>',
      threshold: 800,
    },
    { kind: 'absence', name: 'heartbeat', metric: 'heartbeat', timeoutMs: 30_000 },
  ],
};

/** Live rule for the alert delay: 1 s windows, fires on any window whose max passes 900. */
const liveOptions: AlerterOptions = {
  outOfOrdernessMs: 200,
  allowedLatenessMs: 500,
  idleTimeoutMs: 5_000,
  rules: [
    { kind: 'threshold', name: 'live-max', metric: 'latency_ms', window: { sizeMs: 1_000 }, aggregation: 'max', op: '>', threshold: 900 },
  ],
};

function backlog(): { partition: number; key: string; value: string; timestamp: string }[] {
  const next = random(42);
  const start = Date.UTC(2026, 0, 1);
  return Array.from({ length: RECORDS }, (_, i) => {
    const service = i % SERVICES;
    const second = Math.floor(i / (SERVICES * 4));
    const timestamp = start + second * 1_000 + Math.floor(next() * 1_000);
    const point =
      i % 20 === 0
        ? { serviceId: `svc-${service}`, name: 'heartbeat', value: 1, timestamp, labels: {} }
        : {
            serviceId: `svc-${service}`,
            name: 'latency_ms',
            value: Math.floor(next() * 1_100),
            timestamp,
            labels: { route: i % 2 ? '/pay' : '/cart' },
          };
    return { partition: service % PARTITIONS, key: point.serviceId, value: encodeMetricPoint(point), timestamp: String(timestamp) };
  });
}

/**
 * Alerter throughput on a 400,000-record backlog (12 partitions, 200 services,
 * three rules incl. a hopping p99 and an absence rule) with checkpointing on,
 * against a naive stateless kafkajs eachMessage consumer doing a tumbling
 * aggregation in a Map (no watermarks, no lateness, no state survives a
 * crash). The candidate then runs a live phase (points at event time = now)
 * to measure how long after window end + allowed lateness its alerts commit.
 */
export default defineBenchmark({
  name: 'alerter',
  description: `${RECORDS} points, ${PARTITIONS} partitions, one instance; live phase ${LIVE_RATE}/s for ${LIVE_SECONDS} s`,
  rounds: 3,
  headline: { metric: 'records/s', higherIsBetter: true },
  async setup() {
    const resources = new TestResources();
    const { pool } = await resources.postgres();
    await migrate(pool, readMigrations(join(__dirname, '../../../../infra/migrations')));
    const kafka = new Kafka({ clientId: uniqueName('bench'), brokers: resources.env.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
    const [topic, liveTopic, sideTopic] = await Promise.all([
      // The backlog's records carry their event time (2026-01-01) as their Kafka timestamp: under the
      // broker's default 7-day retention its next check (every 5 min) deleted them mid-run, so a round
      // found an empty log (done at once from the log start, or the naive consumer waiting for ever).
      benchTopic(resources, kafka, 'bench-alerter', PARTITIONS, { 'retention.ms': '-1' }),
      benchTopic(resources, kafka, 'bench-alerter-live', PARTITIONS),
      benchTopic(resources, kafka, 'bench-side', 1),
    ]);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const records = backlog();
    for (let i = 0; i < records.length; i += 5_000) await producer.send({ topic, acks: -1, messages: records.slice(i, i + 5_000) });
    return { resources, pool, kafka, topic, liveTopic, sideTopic, producer };
  },
  async teardown({ resources, producer }) {
    await producer.disconnect();
    await resources.cleanup();
  },
  baseline: {
    name: 'naive eachMessage, in-memory Map',
    async run({ kafka, topic }) {
      const windows = new Map<string, { count: number; sum: number; min: number; max: number }>();
      let consumed = 0;
      const consumer = kafka.consumer({ groupId: uniqueName('naive') });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const started = performance.now();
      const cpu = process.cpuUsage();
      await consumer.run({
        eachMessage: async ({ message }) => {
          const point = parseMetricPoint(message.value?.toString() ?? '');
          const key = `${seriesKey(point)}@${Math.floor(point.timestamp / 10_000)}`;
          const window = windows.get(key);
          if (window) {
            window.count += 1;
            window.sum += point.value;
            window.min = Math.min(window.min, point.value);
            window.max = Math.max(window.max, point.value);
          } else windows.set(key, { count: 1, sum: point.value, min: point.value, max: point.value });
          consumed += 1;
        },
      });
      await waitFor(() => consumed >= RECORDS, {
        timeoutMs: 300_000,
        intervalMs: 20,
        description: 'the naive consumer through the backlog',
      });
      const seconds = (performance.now() - started) / 1_000;
      const cpuUs = cpuMicros(process.cpuUsage(cpu));
      await consumer.disconnect();
      return { 'records/s': RECORDS / seconds, 'CPU µs/record': cpuUs / RECORDS };
    },
  },
  candidates: [
    {
      name: 'AlerterRunner, checkpoint every 200 ms',
      async run({ kafka, pool, topic, liveTopic, sideTopic, producer }) {
        const publisher = new KafkaPublisher(kafka);
        const common = {
          kafka,
          pool,
          topic,
          lateTopic: sideTopic,
          deadLetterTopic: sideTopic,
          alertsTopic: 'bench-alerts',
          publisher,
          fromBeginning: true,
        };
        const groupId = uniqueName('alerting');
        const registry = new MetricsRegistry({ service: 'bench', defaultMetrics: false });
        const metrics = createAlerterMetrics(registry);
        const runner = new AlerterRunner({ ...common, groupId, alerter: backlogOptions, checkpointIntervalMs: 200, metrics });
        const started = performance.now();
        const cpu = process.cpuUsage();
        await runner.start();
        await waitFor(async () => (await checkpointedRecords(pool, groupId)) >= RECORDS, {
          timeoutMs: 300_000,
          intervalMs: 20,
          description: 'the alerter through the backlog',
        });
        const seconds = (performance.now() - started) / 1_000;
        const cpuUs = cpuMicros(process.cpuUsage(cpu));
        await runner.stop();
        const checkpoints = (await metrics.checkpointSeconds.get()).values;
        const count = checkpoints.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
        const sum = checkpoints.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
        const bytes = (await metrics.checkpointBytes.get()).values[0]?.value ?? 0;

        // A topic of its own, so that every round's backlog is the same 400,000 records.
        const delay = await liveAlertDelay({ ...common, topic: liveTopic, groupId: uniqueName('alerting-live') }, producer);
        await publisher.close();
        return {
          'records/s': RECORDS / seconds,
          'CPU µs/record': cpuUs / RECORDS,
          checkpoints: count,
          'checkpoint ms': (1_000 * sum) / Math.max(1, count),
          'checkpoint KiB': bytes / 1_024,
          'alert delay p50 ms': percentile(delay, 50),
          'alert delay p99 ms': percentile(delay, 99),
        };
      },
    },
  ],
});

/** This process's CPU (user + system): on a machine shared with other work it varies less than the wall clock. */
function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

/**
 * A topic of the bench's own, deleted on teardown. Not `resources.topic`: its
 * kafkajs `waitForLeaders` gives up on the UNKNOWN_TOPIC_OR_PARTITION this
 * broker answers for a moment after a create (most setups failed on a busy
 * machine); this waits for the metadata instead.
 */
async function benchTopic(
  resources: TestResources,
  kafka: Kafka,
  prefix: string,
  partitions: number,
  config: Record<string, string> = {},
): Promise<string> {
  const topic = uniqueName(prefix);
  const admin = kafka.admin();
  await admin.connect();
  resources.onCleanup(() => admin.deleteTopics({ topics: [topic] }).finally(() => admin.disconnect()));
  const configEntries = Object.entries(config).map(([name, value]) => ({ name, value }));
  await admin.createTopics({ waitForLeaders: false, topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries }] });
  await waitFor(
    async () => {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      const found = metadata?.topics[0]?.partitions ?? [];
      return found.length === partitions && found.every((p) => p.leader >= 0);
    },
    { timeoutMs: 30_000, intervalMs: 100, description: `leaders for ${topic}` },
  );
  return topic;
}

/**
 * Live points (event time = now) at LIVE_RATE/s for LIVE_SECONDS; every
 * 7th second's points breach. Returns, per committed alert, milliseconds
 * between its window's end + allowed lateness and the commit.
 */
async function liveAlertDelay(
  common: Omit<ConstructorParameters<typeof AlerterRunner>[0], 'alerter'>,
  producer: ReturnType<Kafka['producer']>,
): Promise<number[]> {
  const liveTopicEnd = Date.now();
  const runner = new AlerterRunner({ ...common, alerter: liveOptions, fromBeginning: false, checkpointIntervalMs: 200 });
  await runner.start();
  await new Promise((resolve) => setTimeout(resolve, 3_000)); // the group's first join, before the clock starts
  const from = Date.now();
  const tick = 50;
  for (let elapsed = 0; elapsed < LIVE_SECONDS * 1_000; elapsed += tick) {
    const now = Date.now();
    const breach = Math.floor(now / 1_000) % 7 === 0;
    await producer.send({
      topic: common.topic,
      acks: -1,
      messages: Array.from({ length: (LIVE_RATE * tick) / 1_000 }, (_, i) => {
        const serviceId = `live-${i % SERVICES}`;
        const point = { serviceId, name: 'latency_ms', value: breach ? 950 : 100, timestamp: now, labels: {} };
        return { partition: (i % SERVICES) % PARTITIONS, key: serviceId, value: encodeMetricPoint(point) };
      }),
    });
    const wait = from + elapsed + tick - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await new Promise((resolve) => setTimeout(resolve, 3_000)); // let the last windows close
  await runner.stop();
  const { rows } = await common.pool.query<{ end_ms: string; committed_ms: string }>(
    `SELECT (payload->>'at')::bigint AS end_ms, (extract(epoch FROM created_at) * 1000)::bigint AS committed_ms
       FROM outbox WHERE payload->>'rule' = 'live-max' AND payload->>'status' = 'firing' AND created_at >= to_timestamp($1 / 1000.0)`,
    [liveTopicEnd],
  );
  return rows.map((row) => Number(row.committed_ms) - (Number(row.end_ms) + liveOptions.allowedLatenessMs));
}
