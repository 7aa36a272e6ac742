import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Pool } from 'pg';
import { KafkaPublisher } from '@qls/kafka';
import { Headers, RetriableError } from '@qls/messaging';
import { MetricsRegistry } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { TestResources, uniqueName, waitFor } from '@qls/testing';
import { encodeMetricPoint } from '@qls/metrics-contracts';
import { type ReferenceEvent, referenceEvaluate } from '@qls/metrics-windowing';
import { createAlerterMetrics } from './lib/alerter.metrics';
import { AlerterRunner } from './lib/alerter.runner';
import { checkpointedRecords, committedAlerts, produceScenario, scenario, scenarioOptions, scenarioRules } from './testing/scenario';

const migrations = join(__dirname, '../../../../infra/migrations');
const PARTITIONS = 4;

describe('AlerterRunner on Kafka with checkpoints in Postgres', () => {
  const resources = new TestResources();
  let pool: Pool;
  let schema: string;
  const running: { stop(): Promise<void> }[] = [];
  // Rebalances make kafkajs log heartbeat errors at ERROR: expected here, so not printed.
  const kafka = new Kafka({ clientId: uniqueName('alerter-test'), brokers: resources.env.KAFKA_BROKERS, logLevel: logLevel.NOTHING });

  beforeAll(async () => {
    ({ pool, schema } = await resources.postgres());
    await migrate(pool, readMigrations(migrations));
  });
  afterEach(async () => {
    for (const runner of running.splice(0)) await runner.stop();
  });
  afterAll(() => resources.cleanup());

  async function topics() {
    const [topic, alertsTopic, lateTopic, deadLetterTopic] = await Promise.all([
      resources.topic('alerter-in', PARTITIONS),
      resources.topic('alerter-alerts'),
      resources.topic('alerter-late'),
      resources.topic('alerter-dlt'),
    ]);
    return { topic, alertsTopic, lateTopic, deadLetterTopic, groupId: uniqueName('alerting') };
  }

  /** An AlerterRunner, not started, with every option at its default but the test's topics and a short checkpoint interval. */
  function newRunner(
    names: Awaited<ReturnType<typeof topics>>,
    options: Partial<ConstructorParameters<typeof AlerterRunner>[0]> = {},
  ): { runner: AlerterRunner; stop(): Promise<void> } {
    const publisher = new KafkaPublisher(kafka);
    const runner = new AlerterRunner({
      kafka,
      pool,
      ...names,
      alerter: scenarioOptions,
      publisher,
      checkpointIntervalMs: 50,
      sessionTimeoutMs: 10_000,
      ...options,
    });
    return { runner, stop: async () => (await runner.stop(), await publisher.close()) };
  }

  /** A started runner reading from the beginning, stopped after the test. */
  function startRunner(names: Awaited<ReturnType<typeof topics>>): Promise<AlerterRunner> {
    const { runner, stop } = newRunner(names, { fromBeginning: true });
    running.push({ stop });
    return runner.start().then(() => runner);
  }

  /** The reference's alert ids for these events (arrival order per partition). */
  function expectedAlerts(perPartition: ReferenceEvent[][]): string[] {
    const interleaved = perPartition.flat();
    return referenceEvaluate(scenarioOptions, interleaved)
      .alerts.map((alert) => alert.id)
      .sort();
  }

  /** Every alert of the reference for these events is committed, and none twice. */
  async function expectReferenceAlertsOnce(alertsTopic: string, perPartition: ReferenceEvent[][]): Promise<void> {
    const committed = await committedAlerts(pool, alertsTopic);
    expect([...committed.keys()].sort()).toEqual(expectedAlerts(perPartition));
    expect([...committed.entries()].filter(([, n]) => n > 1)).toEqual([]);
  }

  /** Five minutes of points over PARTITIONS partitions, 4 a second, from day `day` of 2026. */
  function fiveMinutes(seed: number, services: number, day: number): ReferenceEvent[][] {
    return scenario({ seed, partitions: PARTITIONS, services, seconds: 300, start: Date.UTC(2026, 0, day), pointsPerSecond: 4 });
  }

  async function waitForFirstCheckpoint(groupId: string): Promise<void> {
    await waitFor(async () => (await checkpointedRecords(pool, groupId)) > 0, { timeoutMs: 30_000, description: 'a first checkpoint' });
  }

  async function waitUntilAllCheckpointed(groupId: string, total: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(async () => (await checkpointedRecords(pool, groupId)) === total, {
      timeoutMs,
      description: async () => {
        const { rows } = await pool.query<{ partition: number; next_offset: string | null; epoch: number }>(
          `SELECT partition, next_offset, epoch FROM alerter_checkpoints WHERE group_id = $1 ORDER BY partition`,
          [groupId],
        );
        const partitions = rows.map((row) => `${row.partition}: next ${row.next_offset ?? '-'} (epoch ${row.epoch})`).join(', ');
        return `every one of the ${total} records checkpointed by ${groupId} (${await checkpointedRecords(pool, groupId)} so far; ${partitions})`;
      },
    });
  }

  it('commits exactly the alerts of the offline reference, each once, and routes late and unreadable records aside with the reason', async () => {
    const names = await topics();
    const events = scenario({ seed: 7, partitions: PARTITIONS, services: 12, seconds: 240, start: Date.UTC(2026, 0, 1) });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: names.topic,
      messages: [{ partition: 0, key: 'svc-0', value: '{"schemaVersion":1,"serviceId":"svc-0"' }],
    });
    await producer.disconnect();
    const total = events.flat().length + 1;
    await produceScenario(kafka, names.topic, events.flat());
    await startRunner(names);
    await waitUntilAllCheckpointed(names.groupId, total);

    const committed = await committedAlerts(pool, names.alertsTopic);
    const expected = expectedAlerts(events);
    expect(expected.length).toBeGreaterThan(20);
    expect(expected.some((id) => id.endsWith(':firing'))).toBe(true);
    expect([...committed.keys()].sort()).toEqual(expected);
    expect([...committed.values()].every((n) => n === 1)).toBe(true);

    const expectedLate = referenceEvaluate(scenarioOptions, events.flat()).late.length;
    expect(expectedLate).toBeGreaterThan(0);
    const late = await readTopic(names.lateTopic, expectedLate);
    expect(late.every((record) => record.headers[Headers.errorReason]?.startsWith('later than allowed lateness'))).toBe(true);
    const [unreadable] = await readTopic(names.deadLetterTopic, 1);
    expect(unreadable?.headers[Headers.errorReason]).toMatch(/JSON/);
    expect(unreadable?.headers[Headers.originalSource]).toBe(`${names.topic}/0/0`);
  }, 120_000);

  it('loses and duplicates nothing when the alerter is SIGKILLed mid-stream and restarted', async () => {
    const names = await topics();
    const events = fiveMinutes(11, 16, 2);
    const flat = events.flat();
    const total = flat.length;
    await produceScenario(kafka, names.topic, flat.slice(0, Math.floor(total / 2)));
    const child = spawnAlerter(names);
    await waitForFirstCheckpoint(names.groupId);
    // Keep producing while it runs, then kill it between checkpoints.
    await produceScenario(kafka, names.topic, flat.slice(Math.floor(total / 2), Math.floor((total * 3) / 4)));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const atKill = await checkpointedRecords(pool, names.groupId);
    expect(atKill).toBeLessThan(total);

    await produceScenario(kafka, names.topic, flat.slice(Math.floor((total * 3) / 4)));
    await startRunner(names);
    // The group hands the partitions over once the dead member's session (6 s) ends, or, had
    // it died while rejoining, once its rebalance timeout (kafkajs's 60 s) does: allow both.
    await waitUntilAllCheckpointed(names.groupId, total, 120_000);

    await expectReferenceAlertsOnce(names.alertsTopic, events);
  }, 180_000);

  it('loses and duplicates nothing when a second member joins mid-stream (rebalance)', async () => {
    const names = await topics();
    const events = fiveMinutes(23, 12, 3);
    const flat = events.flat();
    await produceScenario(kafka, names.topic, flat.slice(0, Math.floor(flat.length / 2)));
    await startRunner(names);
    await waitForFirstCheckpoint(names.groupId);
    await startRunner(names);
    await produceScenario(kafka, names.topic, flat.slice(Math.floor(flat.length / 2)));
    await waitUntilAllCheckpointed(names.groupId, flat.length);

    const { rows } = await pool.query<{ n: number }>(`SELECT max(epoch)::int AS n FROM alerter_checkpoints WHERE group_id = $1`, [
      names.groupId,
    ]);
    expect(rows[0]?.n).toBeGreaterThan(1); // partitions were handed over
    await expectReferenceAlertsOnce(names.alertsTopic, events);
  }, 180_000);

  it('restores a quiet partition on assignment, so the wall clock still closes its last window after a restart', async () => {
    const names = await topics();
    const options = {
      outOfOrdernessMs: 0,
      allowedLatenessMs: 0,
      idleTimeoutMs: 300,
      rules: [
        {
          kind: 'threshold' as const,
          name: 'slow',
          metric: 'latency_ms',
          window: { sizeMs: 1_000 },
          aggregation: 'max' as const,
          op: '>' as const,
          threshold: 900,
        },
      ],
    };
    const start = (alerter = options) => {
      const publisher = new KafkaPublisher(kafka);
      const runner = new AlerterRunner({
        kafka,
        pool,
        ...names,
        alerter,
        publisher,
        checkpointIntervalMs: 50,
        fromBeginning: true,
        sessionTimeoutMs: 6_000,
      });
      const stop = async () => {
        await runner.stop();
        await publisher.close();
      };
      return runner.start().then(() => stop);
    };
    // One breaching point in the current second, and nothing after it: no event moves the watermark.
    const producer = kafka.producer();
    await producer.connect();
    const now = Date.now();
    await producer.send({
      topic: names.topic,
      messages: [
        {
          partition: 1,
          key: 'quiet',
          value: encodeMetricPoint({ serviceId: 'quiet', name: 'latency_ms', value: 950, timestamp: now, labels: {} }),
        },
      ],
    });
    await producer.disconnect();
    // First run: reads the point, checkpoints it, is stopped before the partition counts as idle.
    const stopFirst = await start({ ...options, idleTimeoutMs: 60_000 });
    await waitFor(async () => (await checkpointedRecords(pool, names.groupId)) === 1, {
      timeoutMs: 30_000,
      description: 'the point checkpointed',
    });
    await stopFirst();
    expect((await committedAlerts(pool, names.alertsTopic)).size).toBe(0);

    // Second run: no record arrives; the restored window closes once the partitions are idle.
    running.push({ stop: await start() });
    await waitFor(async () => [...(await committedAlerts(pool, names.alertsTopic)).keys()].some((id) => id.endsWith(':firing')), {
      timeoutMs: 30_000,
      description: 'the firing alert of the quiet window',
    });
  }, 60_000);

  it('starts a partition it never checkpointed at the earliest retained record: a new service whose first points arrive while the alerter is stopped alerts pending, firing, resolved', async () => {
    const names = await topics();
    const start = Date.UTC(2026, 0, 4);
    // First run with the default start position: partition 0 gets records, partition 2 none (a checkpoint without an offset).
    const first = await startDefaultRunner(names);
    running.push(first);
    await waitFor(
      async () => {
        if ((await checkpointedRecords(pool, names.groupId)) > 0) return true;
        // Produced until one is read: with a start at the log end, what precedes the first fetch is not.
        await produceScenario(kafka, names.topic, [
          { partition: 0, point: { serviceId: 'svc-old', name: 'latency_ms', value: 100, timestamp: start, labels: { route: '/cart' } } },
        ]);
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: 'the first run checkpointing a record of partition 0' },
    );
    await running.splice(running.indexOf(first), 1)[0]?.stop();
    expect(await nextOffsetOf(names.groupId, 2)).toBeNull();

    // While it is stopped, a new service's first minute arrives on partition 2: 40 s above the threshold, 20 s below.
    const points: ReferenceEvent[] = [];
    for (let second = 0; second < 60; second++) {
      for (const offsetMs of [0, 500]) {
        const value = second < 40 ? 900 : 100;
        points.push({
          partition: 2,
          point: {
            serviceId: 'svc-new',
            name: 'latency_ms',
            value,
            timestamp: start + second * 1_000 + offsetMs,
            labels: { route: '/cart' },
          },
        });
      }
    }
    await produceScenario(kafka, names.topic, points);

    const second = await startDefaultRunner(names);
    running.push(second);
    await waitFor(async () => (await epochOf(names.groupId, 2)) > 1, { timeoutMs: 30_000, description: 'partition 2 claimed again' });
    // A far-future point on every partition moves the watermark past every window.
    const flush: ReferenceEvent[] = Array.from({ length: PARTITIONS }, (_, partition) => ({
      partition,
      point: { serviceId: `flush-${partition}`, name: 'flush', value: 0, timestamp: start + 3_600_000, labels: {} },
    }));
    await produceScenario(kafka, names.topic, flush);
    await waitFor(async () => (await nextOffsetOf(names.groupId, 2)) === points.length + 1, {
      timeoutMs: 30_000,
      description: 'partition 2 checkpointed past its flush point',
    });

    const expected = referenceEvaluate(scenarioOptions, [...points, ...flush])
      .alerts.filter((alert) => alert.serviceId === 'svc-new')
      .map((alert) => `${alert.status}@${(alert.at - start) / 1_000}s`);
    expect(expected).toEqual(['pending@10s', 'firing@30s', 'resolved@50s']);
    const { rows } = await pool.query<{ status: string; at: string }>(
      `SELECT payload->>'status' AS status, payload->>'at' AS at FROM outbox
        WHERE destination = $1 AND payload->>'serviceId' = 'svc-new' ORDER BY id`,
      [`kafka:${names.alertsTopic}`],
    );
    expect(rows.map((row) => `${row.status}@${(Number(row.at) - start) / 1_000}s`)).toEqual(expected);
  }, 90_000);

  it('dead-letters every one of twelve ~250 KB poison records among good ones, byte for byte, and checkpoints every record', async () => {
    const names = await topics();
    const events = scenario({ seed: 31, partitions: PARTITIONS, services: 8, seconds: 120, start: Date.UTC(2026, 0, 5) }).flat();
    const half = Math.floor(events.length / 2);
    await produceScenario(kafka, names.topic, events.slice(0, half));
    // Three poison records per partition, one send each: not JSON, and not UTF-8 either.
    const poison = (i: number) => Buffer.concat([Buffer.from([0xff, 0xfe, i]), Buffer.alloc(250_000, 0x80 + (i % 64))]);
    const producer = kafka.producer();
    await producer.connect();
    const sources: string[] = [];
    for (let i = 0; i < 3 * PARTITIONS; i++) {
      const partition = i % PARTITIONS;
      const [meta] = await producer.send({
        topic: names.topic,
        acks: -1,
        messages: [{ partition, key: Buffer.from([0xc3, 0x28, i]), value: poison(i), headers: { 'x-raw': Buffer.from([0xe2, 0x82, i]) } }],
      });
      sources.push(`${names.topic}/${partition}/${meta?.baseOffset}`);
    }
    await producer.disconnect();
    await produceScenario(kafka, names.topic, events.slice(half));
    const total = events.length + sources.length;

    // Checkpoints far enough apart for several batches' dead letters to pile up in one.
    const stop = await startDefaultRunner(names, { checkpointIntervalMs: 500 });
    running.push(stop);
    await waitUntilAllCheckpointed(names.groupId, total);

    const letters = await readRawTopic(names.deadLetterTopic, sources.length);
    expect(letters.map((letter) => letter.headers[Headers.originalSource]?.toString()).sort()).toEqual([...sources].sort());
    for (const letter of letters) {
      const i = sources.indexOf(letter.headers[Headers.originalSource]?.toString() ?? '');
      expect(letter.value?.equals(poison(i))).toBe(true);
      expect(letter.key?.equals(Buffer.from([0xc3, 0x28, i]))).toBe(true);
      expect(letter.headers['x-raw']?.equals(Buffer.from([0xe2, 0x82, i]))).toBe(true);
    }
    const committed = await committedAlerts(pool, names.alertsTopic);
    expect([...committed.keys()].sort()).toEqual(expectedAlerts([events]));
  }, 120_000);

  it('fails readiness and counts failed checkpoints while dead letters cannot be published, then commits every record without skipping one', async () => {
    const names = await topics();
    const events = scenario({ seed: 37, partitions: PARTITIONS, services: 8, seconds: 60, start: Date.UTC(2026, 0, 6) }).flat();
    const producer = kafka.producer();
    await producer.connect();
    const [meta] = await producer.send({ topic: names.topic, acks: -1, messages: [{ partition: 1, key: 'svc-1', value: 'not a point' }] });
    await producer.disconnect();
    const poisonOffset = Number(meta?.baseOffset);
    await produceScenario(kafka, names.topic, events);

    // The dead-letter side of the publisher fails (the broker is fine): a fault in our own client.
    const kafkaPublisher = new KafkaPublisher(kafka);
    let outage = true;
    const publisher = {
      publish: kafkaPublisher.publish.bind(kafkaPublisher),
      close: () => kafkaPublisher.close(),
      publishRecords: async (topic: string, records: Parameters<KafkaPublisher['publishRecords']>[1]) => {
        if (outage && records.length > 0)
          throw new RetriableError('KAFKA.PUBLISH_FAILED', 'injected: the dead-letter topic is unreachable');
        await kafkaPublisher.publishRecords(topic, records);
      },
    };
    const registry = new MetricsRegistry({ service: 'alerter-test', defaultMetrics: false });
    const metrics = createAlerterMetrics(registry);
    const runner = new AlerterRunner({ kafka, pool, ...names, alerter: scenarioOptions, publisher, metrics, checkpointIntervalMs: 50 });
    running.push({ stop: async () => (await runner.stop(), await kafkaPublisher.close()) });
    await runner.start();
    const readiness = runner.readiness();

    await waitFor(
      async () =>
        await readiness.check().then(
          () => false,
          () => true,
        ),
      {
        timeoutMs: 30_000,
        description: 'readiness failing while checkpoints cannot complete',
      },
    );
    await expect(readiness.check()).rejects.toThrow(/checkpoints failed/);
    expect((await metrics.checkpointFailures.get()).values[0]?.value).toBeGreaterThanOrEqual(3);
    // Nothing past the poison record is committed while its dead letter is not published.
    expect((await nextOffsetOf(names.groupId, 1)) ?? 0).toBeLessThanOrEqual(poisonOffset);

    outage = false;
    await waitUntilAllCheckpointed(names.groupId, events.length + 1);
    await expect(readiness.check()).resolves.toBeUndefined();
    expect((await metrics.checkpointFailures.get()).values[0]?.value).toBe(0);
    const [letter] = await readRawTopic(names.deadLetterTopic, 1);
    expect(letter?.headers[Headers.originalSource]?.toString()).toBe(`${names.topic}/1/${poisonOffset}`);
    expect([...(await committedAlerts(pool, names.alertsTopic)).keys()].sort()).toEqual(expectedAlerts([events]));
  }, 120_000);

  it('counts a retried batch once: delivered twice, its points give the alerts of a single delivery (count, sum, avg not doubled)', async () => {
    const names = await topics();
    // Every series reports one point a second: a 10 s count above 12 only fires if points count twice.
    const options = {
      ...scenarioOptions,
      rules: [
        ...scenarioRules,
        {
          kind: 'threshold' as const,
          name: 'too-many',
          metric: 'latency_ms',
          window: { sizeMs: 10_000 },
          aggregation: 'count' as const,
          op: '>' as const,
          threshold: 12,
        },
      ],
    };
    const events = scenario({ seed: 41, partitions: PARTITIONS, services: 8, seconds: 120, start: Date.UTC(2026, 0, 7) });
    // Batches of 40 points as a client POSTs them; every other batch is retried right after it (a lost answer).
    for (const partition of events) {
      for (let i = 0, batch = 0; i < partition.length; i += 40, batch++) {
        const points = partition.slice(i, i + 40);
        await produceScenario(kafka, names.topic, points);
        if (batch % 2 === 0 && points.every((event) => event.point.name !== 'flush')) await produceScenario(kafka, names.topic, points);
      }
    }
    const stop = await startDefaultRunner(names, { alerter: options });
    running.push(stop);
    const admin = kafka.admin();
    await admin.connect();
    const total = (await admin.fetchTopicOffsets(names.topic)).reduce((sum, p) => sum + Number(p.high), 0);
    await admin.disconnect();
    expect(total).toBeGreaterThan(events.flat().length);
    await waitUntilAllCheckpointed(names.groupId, total);

    // Values too, but a percentile's: the reference sorts exact values where the alerter keeps a sketch.
    const described = (alert: { id: string; rule: string; value: number | null }) =>
      `${alert.id} ${alert.rule === 'latency-p99' ? '(sketch)' : alert.value}`;
    const expected = referenceEvaluate(options, events.flat()).alerts.map(described);
    expect(expected.some((alert) => alert.includes(':firing'))).toBe(true);
    const { rows } = await pool.query<{ id: string; rule: string; value: number | null }>(
      `SELECT payload->>'id' AS id, payload->>'rule' AS rule, (payload->>'value')::float8 AS value FROM outbox WHERE destination = $1`,
      [`kafka:${names.alertsTopic}`],
    );
    expect(rows.map(described).sort()).toEqual(expected.sort());
  }, 120_000);

  /** A started runner with every option at its default but `options`; the test stops it. */
  async function startDefaultRunner(
    names: Awaited<ReturnType<typeof topics>>,
    options: Partial<ConstructorParameters<typeof AlerterRunner>[0]> = {},
  ): Promise<{ stop(): Promise<void> }> {
    const { runner, stop } = newRunner(names, options);
    await runner.start();
    return { stop };
  }

  async function epochOf(groupId: string, partition: number): Promise<number> {
    const { rows } = await pool.query<{ epoch: string }>(`SELECT epoch FROM alerter_checkpoints WHERE group_id = $1 AND partition = $2`, [
      groupId,
      partition,
    ]);
    return Number(rows[0]?.epoch ?? 0);
  }

  async function nextOffsetOf(groupId: string, partition: number): Promise<number | null> {
    const { rows } = await pool.query<{ next_offset: string | null }>(
      `SELECT next_offset FROM alerter_checkpoints WHERE group_id = $1 AND partition = $2`,
      [groupId, partition],
    );
    return rows[0]?.next_offset == null ? null : Number(rows[0].next_offset);
  }

  /** Every record of a topic (distinct by offset) once `count` have arrived. */
  async function readTopic(topic: string, count: number): Promise<{ value: string; headers: Record<string, string> }[]> {
    const seen = new Map<string, { value: string; headers: Record<string, string> }>();
    const consumer = kafka.consumer({ groupId: uniqueName('read') });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]));
        seen.set(`${partition}/${message.offset}`, { value: message.value?.toString() ?? '', headers });
      },
    });
    try {
      await waitFor(() => seen.size >= count, { timeoutMs: 20_000, description: `${count} records on ${topic}` });
    } finally {
      await consumer.disconnect();
    }
    return [...seen.values()];
  }

  /** Every record of a topic as bytes (distinct by offset) once `count` have arrived. */
  async function readRawTopic(
    topic: string,
    count: number,
  ): Promise<{ key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer> }[]> {
    const seen = new Map<string, { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer> }>();
    const consumer = kafka.consumer({ groupId: uniqueName('read') });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, value as Buffer]));
        seen.set(`${partition}/${message.offset}`, { key: message.key, value: message.value, headers });
      },
    });
    try {
      await waitFor(() => seen.size >= count, { timeoutMs: 20_000, description: `${count} records on ${topic}` });
    } finally {
      await consumer.disconnect();
    }
    return [...seen.values()];
  }

  function spawnAlerter(names: Awaited<ReturnType<typeof topics>>): ChildProcess {
    return spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(__dirname, 'testing/alerter.process.ts'),
        JSON.stringify({
          databaseUrl: resources.env.DATABASE_URL,
          schema,
          brokers: resources.env.KAFKA_BROKERS,
          checkpointIntervalMs: 50,
          sessionTimeoutMs: 6_000,
          ...names,
        }),
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  }
});
