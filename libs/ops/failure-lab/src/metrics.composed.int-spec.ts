// drop-system: metrics
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import type { Pool } from 'pg';
import { encodeMetricPoint, parseMetricPoint } from '@qls/metrics-contracts';
import type { AlerterOptions, Point } from '@qls/metrics-windowing';
import { migrate, readMigrations } from '@qls/provisioning';
import { TestResources, assertInvariants, describeReports, uniqueName, waitFor } from '@qls/testing';
import { type RawRecord, checkMetrics } from './index';
import { latencyAbove } from './lib/lab-rules';

const repo = join(__dirname, '../../../..');
const SEED = Number(process.env['FAILURE_LAB_SEED'] ?? 20_261_205);
const PARTITIONS = 4;
const SESSION_TIMEOUT_MS = 6_000;

/** The lab's rules: a tumbling max, a hopping average with `for`, an absence rule — windows, lateness and state all matter. */
const alerter: AlerterOptions = {
  rules: [
    latencyAbove(900, 'slow-max', 'max', { sizeMs: 5_000 }),
    latencyAbove(450, 'slow-avg', 'avg', { sizeMs: 10_000, slideMs: 5_000 }, 10_000),
    { kind: 'absence', name: 'heartbeat-missing', metric: 'heartbeat', timeoutMs: 15_000 },
  ],
  outOfOrdernessMs: 2_000,
  allowedLatenessMs: 3_000,
  idleTimeoutMs: Infinity,
};

let resources: TestResources;
let pool: Pool;
let schema: string;
let kafka: Kafka;
const children: ChildProcess[] = [];

/**
 * The metrics pipeline's alerter through real Kafka and Postgres while faults
 * are composed — a member paused past its session (a zombie that wakes up and
 * must be fenced), a member killed mid-stream, duplicates, late points and
 * poison records in the input — then judged against the offline reference by
 * the failure lab's checker over the topic's own records.
 */
describe('the alerter under a composed fault schedule, judged by the invariant checker', () => {
  beforeAll(async () => {
    resources = new TestResources();
    ({ pool, schema } = await resources.postgres());
    await migrate(pool, readMigrations(join(repo, 'infra/migrations')));
    kafka = new Kafka({ clientId: uniqueName('lab'), brokers: resources.env.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  });
  afterAll(async () => {
    for (const child of children) {
      if (child.signalCode === 'SIGSTOP') child.kill('SIGCONT');
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await resources.cleanup();
  });

  it(`counts every record once, routes late and poison records aside, and commits exactly the reference's alerts through a zombie member and a crash (seed ${SEED})`, async () => {
    const [topic, alertsTopic, lateTopic, deadLetterTopic] = await Promise.all([
      resources.topic('lab-raw', PARTITIONS),
      resources.topic('lab-alerts'),
      resources.topic('lab-late'),
      resources.topic('lab-dlt'),
    ]);
    const names = { topic, alertsTopic, lateTopic, deadLetterTopic, groupId: uniqueName('lab-alerting') };
    const input = workload(SEED);
    const third = Math.floor(input.length / 3);
    await produce(topic, input.slice(0, third));

    // 1. A member is paused past its session: the group hands its partitions to another; it wakes up a zombie.
    const zombie = spawnAlerter(names);
    await waitFor(async () => (await checkpointed(names.groupId)) > 0, { timeoutMs: 60_000, description: 'a first checkpoint' });
    zombie.kill('SIGSTOP');
    const second = spawnAlerter(names);
    await produce(topic, input.slice(third, 2 * third));
    await waitFor(async () => (await maxEpoch(names.groupId)) > 1, {
      timeoutMs: 60_000,
      description: 'the partitions claimed by the second member',
    });
    zombie.kill('SIGCONT');
    // 2. The member that took over dies mid-stream; a third takes over from the checkpoints.
    await produce(topic, input.slice(2 * third));
    second.kill('SIGKILL');
    spawnAlerter(names);

    const admin = kafka.admin();
    await admin.connect();
    const logEnd = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    await admin.disconnect();
    const total = [...logEnd.values()].reduce((a, b) => a + b, 0);
    await waitFor(async () => (await checkpointed(names.groupId)) === total, {
      timeoutMs: 120_000,
      description: async () => `every one of the ${total} records checkpointed (${await checkpointed(names.groupId)} so far)`,
    }).catch(() => undefined); // the checker names the partitions left unread

    const raw = await readTopic(topic, logEnd);
    const report = checkMetrics(
      raw.map(({ partition, message }) => ({ partition, offset: Number(message.offset), point: pointOf(message) }) satisfies RawRecord),
      {
        alerts: await committedAlerts(alertsTopic),
        lateSources: await sourcesIn(lateTopic),
        deadLetterSources: await sourcesIn(deadLetterTopic),
        checkpoints: await checkpoints(names.groupId),
      },
      { topic, alerter, logEnd },
    );
    process.stdout.write(`${describeReports([report])}\n`);
    assertInvariants(report);
    expect(report.checked).toBe(total);
    // The input really held what the faults were composed with.
    expect(report.counts['alerts']).toBeGreaterThan(5);
    expect(report.counts['late']).toBeGreaterThan(0);
    expect(report.counts['dead-lettered']).toBe(PARTITIONS);
  }, 300_000);
});

/** Seeded points, 4 partitions × 2 services × 4/s over 150 s: breaches, a silent heartbeat, 3 % repeats, 1 % far behind, one poison record per partition. */
function workload(seed: number): { partition: number; value: Buffer | string; timestamp: number }[] {
  let draws = 0;
  const next = () => createHash('sha256').update(`${seed}:${draws++}`).digest().readUInt32BE(0) / 2 ** 32;
  const start = Date.UTC(2026, 0, 7);
  const out: { partition: number; value: Buffer | string; timestamp: number; arrival: number }[] = [];
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const records: { value: Buffer | string; timestamp: number; arrival: number }[] = [];
    for (let ms = 0; ms < 150_000; ms += 250) {
      const serviceId = `svc-${partition}-${(ms / 250) % 2}`;
      const breach = Math.floor(ms / 20_000) % 3 === 1;
      const jitter = Math.floor(next() * 1_500); // within the out-of-orderness
      const late = next() < 0.01 ? 20_000 : 0; // far behind the watermark
      const timestamp = start + Math.max(0, ms - jitter - late);
      const point: Point = { serviceId, name: 'latency_ms', value: breach ? 600 + Math.floor(next() * 400) : 100, timestamp, labels: {} };
      records.push({ value: encodeMetricPoint(point), timestamp, arrival: ms });
      if (next() < 0.03) records.push({ value: encodeMetricPoint(point), timestamp, arrival: ms }); // a producer's retry
      if (ms % 1_000 === 0 && !(partition === 0 && ms > 60_000 && ms < 90_000)) {
        const beat: Point = { serviceId: `svc-${partition}-0`, name: 'heartbeat', value: 1, timestamp: start + ms, labels: {} };
        records.push({ value: encodeMetricPoint(beat), timestamp: start + ms, arrival: ms });
      }
      if (ms === 75_000) {
        const poison = Buffer.concat([Buffer.from([0xff, partition]), Buffer.alloc(1_000, 0x80)]);
        records.push({ value: poison, timestamp: start + ms, arrival: ms });
      }
    }
    const flush: Point = { serviceId: `flush-${partition}`, name: 'flush', value: 0, timestamp: start + 3_600_000, labels: {} };
    records.push({ value: encodeMetricPoint(flush), timestamp: flush.timestamp, arrival: 150_000 });
    out.push(...records.map((record) => ({ partition, ...record })));
  }
  // Interleave the partitions in arrival order, as producers would (a stable sort keeps each partition's order).
  return out.sort((a, b) => a.arrival - b.arrival).map(({ partition, value, timestamp }) => ({ partition, value, timestamp }));
}

/** Sends the records in chunks of 1,000, in order (one in flight, idempotent). */
async function produce(topic: string, records: readonly { partition: number; value: Buffer | string; timestamp: number }[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const messages = records.map((r) => ({ partition: r.partition, value: r.value, timestamp: String(r.timestamp) }));
  const chunks = Array.from({ length: Math.ceil(messages.length / 1_000) }, (_, i) => messages.slice(i * 1_000, (i + 1) * 1_000));
  try {
    for (const chunk of chunks) await producer.send({ topic, acks: -1, messages: chunk });
  } finally {
    await producer.disconnect();
  }
}

function pointOf(message: KafkaMessage): Point | undefined {
  try {
    return parseMetricPoint(message.value?.toString() ?? '');
  } catch {
    return undefined;
  }
}

/** Every record of the topic up to `end` (all of it when left out), with its partition. */
async function readTopic(topic: string, end?: ReadonlyMap<number, number>): Promise<{ partition: number; message: KafkaMessage }[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = end ?? new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const wanted = [...ends.values()].reduce((a, b) => a + b, 0);
  const read = new Map<string, { partition: number; message: KafkaMessage }>();
  if (wanted === 0) return [];
  const consumer = kafka.consumer({ groupId: uniqueName('lab-reader') });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (Number(message.offset) < (ends.get(partition) ?? 0)) read.set(`${partition}/${message.offset}`, { partition, message });
    },
  });
  try {
    await waitFor(() => read.size >= wanted, {
      timeoutMs: 60_000,
      description: () => `${wanted} records of ${topic} (${read.size} read; log ends ${JSON.stringify([...ends])})`,
    });
  } finally {
    await consumer.disconnect();
  }
  return [...read.values()].sort((a, b) => a.partition - b.partition || Number(a.message.offset) - Number(b.message.offset));
}

async function sourcesIn(topic: string): Promise<string[]> {
  return (await readTopic(topic)).map(({ message }) => message.headers?.['x-original-source']?.toString() ?? '');
}

async function committedAlerts(alertsTopic: string): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ id: string; n: number }>(
    `SELECT payload->>'id' AS id, count(*)::int AS n FROM outbox WHERE destination = $1 GROUP BY 1`,
    [`kafka:${alertsTopic}`],
  );
  return new Map(rows.map((row) => [row.id, row.n]));
}

async function checkpoints(groupId: string): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ partition: number; next_offset: string | null }>(
    `SELECT partition, next_offset FROM alerter_checkpoints WHERE group_id = $1`,
    [groupId],
  );
  return new Map(rows.map((row) => [row.partition, Number(row.next_offset ?? 0)]));
}

async function checkpointed(groupId: string): Promise<number> {
  return [...(await checkpoints(groupId)).values()].reduce((a, b) => a + b, 0);
}

async function maxEpoch(groupId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number | null }>(`SELECT max(epoch)::int AS n FROM alerter_checkpoints WHERE group_id = $1`, [
    groupId,
  ]);
  return rows[0]?.n ?? 0;
}

/** An alerter in its own process (libs/metrics/alerting/src/testing/alerter.process.ts) with the lab's rules. */
function spawnAlerter(names: {
  topic: string;
  alertsTopic: string;
  lateTopic: string;
  deadLetterTopic: string;
  groupId: string;
}): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repo, 'libs/metrics/alerting/src/testing/alerter.process.ts'),
      JSON.stringify({
        databaseUrl: resources.env.DATABASE_URL,
        schema,
        brokers: resources.env.KAFKA_BROKERS,
        checkpointIntervalMs: 100,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
        alerter: { ...alerter, idleTimeoutMs: null },
        ...names,
      }),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.push(child);
  return child;
}
