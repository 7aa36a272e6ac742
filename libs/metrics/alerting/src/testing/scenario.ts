import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { encodeMetricPoint } from '@qls/metrics-contracts';
import type { AlerterOptions, Point, ReferenceEvent, RuleInput } from '@qls/metrics-windowing';

/** Rules the scenarios exercise: a tumbling avg with `for`, a hopping p99, an absence rule. */
export const scenarioRules: RuleInput[] = [
  {
    kind: 'threshold',
    name: 'high-latency-avg',
    metric: 'latency_ms',
    window: { sizeMs: 10_000 },
    aggregation: 'avg',
    op: '>',
    threshold: 500,
    forMs: 20_000,
    severity: 'critical',
  },
  {
    kind: 'threshold',
    name: 'latency-p99',
    metric: 'latency_ms',
    match: { route: '/pay' },
    window: { sizeMs: 20_000, slideMs: 10_000 },
    aggregation: 'p99',
    op: '>',
    threshold: 800,
  },
  { kind: 'absence', name: 'heartbeat-missing', metric: 'heartbeat', timeoutMs: 30_000 },
];

export const scenarioOptions: AlerterOptions = {
  outOfOrdernessMs: 3_000,
  allowedLatenessMs: 5_000,
  // No wall-clock idleness in scenarios: the outcome must not depend on timing.
  idleTimeoutMs: Number.POSITIVE_INFINITY,
  rules: scenarioRules,
};

/** Deterministic PRNG (mulberry32), so a failing scenario can be replayed from its seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface ScenarioOptions {
  readonly seed: number;
  readonly partitions: number;
  readonly services: number;
  /** Event-time span of the scenario. */
  readonly seconds: number;
  /** Event time of the first point (ms). */
  readonly start: number;
  /** Latency points per service per second (two routes alternate). */
  readonly pointsPerSecond?: number;
  /** Event time of the closing `flush` point, after the last second. @defaultValue 3,600 s */
  readonly flushAfterSeconds?: number;
}

/**
 * Per partition, points in arrival order: each service reports latency every
 * second with incidents (high values) and a heartbeat every 5 s with one
 * outage; arrival order is shuffled within the out-of-orderness, and a few
 * points arrive far too late. A last far-future `flush` point per partition
 * moves every watermark past everything (it matches no rule).
 */
export function scenario(options: ScenarioOptions): ReferenceEvent[][] {
  const next = random(options.seed);
  const perPartition: { at: number; point: Point }[][] = Array.from({ length: options.partitions }, () => []);
  const rate = options.pointsPerSecond ?? 2;
  for (let s = 0; s < options.services; s++) {
    const serviceId = `svc-${s}`;
    const partition = s % options.partitions;
    const incidentFrom = Math.floor(next() * options.seconds);
    const incidentFor = 20 + Math.floor(next() * 60);
    const outageFrom = s % 3 === 0 ? Math.floor(next() * options.seconds * 0.6) : -1;
    for (let second = 0; second < options.seconds; second++) {
      for (let i = 0; i < rate; i++) {
        const timestamp = options.start + second * 1_000 + Math.floor((i * 1_000) / rate);
        const incident = second >= incidentFrom && second < incidentFrom + incidentFor;
        const value = incident ? 900 + Math.floor(next() * 600) : 50 + Math.floor(next() * 250);
        const route = i % 2 === 0 ? '/pay' : '/cart';
        // Arrival: up to 2.5 s after the event (inside the 3 s out-of-orderness); 0.5 % far too late.
        const delay = next() < 0.005 ? 20_000 + next() * 10_000 : next() * 2_500;
        perPartition[partition].push({
          at: timestamp + delay,
          point: { serviceId, name: 'latency_ms', value, timestamp, labels: { route } },
        });
      }
      const outage = outageFrom >= 0 && second >= outageFrom && second < outageFrom + 45;
      if (second % 5 === 0 && !outage) {
        const timestamp = options.start + second * 1_000;
        perPartition[partition].push({
          at: timestamp + next() * 1_000,
          point: { serviceId, name: 'heartbeat', value: 1, timestamp, labels: {} },
        });
      }
    }
  }
  const flushAt = options.start + (options.seconds + (options.flushAfterSeconds ?? 3_600)) * 1_000;
  return perPartition.map((events, partition) => [
    ...events.sort((a, b) => a.at - b.at).map(({ point }) => ({ partition, point })),
    { partition, point: { serviceId: `flush-${partition}`, name: 'flush', value: 0, timestamp: flushAt, labels: {} } },
  ]);
}

/** Produces each partition's events to that partition, in order, with Kafka timestamps = event times. */
export async function produceScenario(kafka: Kafka, topic: string, events: readonly ReferenceEvent[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < events.length; i += 2_000) {
      await producer.send({
        topic,
        acks: -1,
        messages: events.slice(i, i + 2_000).map(({ partition, point }) => ({
          partition,
          key: point.serviceId,
          value: encodeMetricPoint(point),
          timestamp: String(point.timestamp),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Alert transition ids in the outbox (what the alerter committed), with how often each appears. */
export async function committedAlerts(pool: Pool, alertsTopic: string): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ id: string; n: number }>(
    `SELECT payload->>'id' AS id, count(*)::int AS n FROM outbox WHERE destination = $1 GROUP BY 1`,
    [`kafka:${alertsTopic}`],
  );
  return new Map(rows.map((row) => [row.id, row.n]));
}

/** Sum of the checkpointed next offsets of a group. */
export async function checkpointedRecords(pool: Pool, groupId: string): Promise<number> {
  const { rows } = await pool.query<{ n: string | null }>(`SELECT sum(next_offset) AS n FROM alerter_checkpoints WHERE group_id = $1`, [
    groupId,
  ]);
  return Number(rows[0]?.n ?? 0);
}
