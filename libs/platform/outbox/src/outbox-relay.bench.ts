import type { Pool } from 'pg';
import { defineBenchmark, percentile } from '@qls/bench';
import { KafkaPublisher } from '@qls/kafka';
import { migrate, readMigrations } from '@qls/provisioning';
import { type MigratedSchema, TestResources, migratedSchema } from '@qls/testing';
import { OutboxRelay, enqueue, inTransaction, stats } from './index';

const BACKLOG = 20_000;
const AGGREGATES = 200;
const LATENCY_PHASE_MS = 3_000;
const WRITERS = 4;

interface Ctx extends MigratedSchema {
  readonly publisher: KafkaPublisher;
  readonly topic: string;
  /** Single-row transactions per second the writers reach with no relay running. */
  readonly writerMaxRate: number;
}

interface Relay {
  start(): Promise<void>;
  stop(): Promise<void>;
}

const now = () => performance.timeOrigin + performance.now();
const row = (topic: string, i: number) => ({
  aggregateType: 'bench',
  aggregateId: `agg-${i % AGGREGATES}`,
  eventType: 'BenchHappened.v1',
  payload: { i, padding: 'x'.repeat(200) },
  destination: { kafka: topic },
});

/**
 * The relay most projects copy: one poller every 100 ms, `ORDER BY id LIMIT 100
 * FOR UPDATE SKIP LOCKED`, one awaited publish and one UPDATE per row.
 */
function naiveRelay(ctx: Ctx): Relay {
  let running = false;
  let loop: Promise<void> = Promise.resolve();
  const cycle = async () => {
    const client = await ctx.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: string; aggregate_id: string; payload: string }>(
        'SELECT id, aggregate_id, payload::text FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED',
      );
      for (const r of rows) {
        await ctx.publisher.publish(ctx.topic, [{ key: r.aggregate_id, body: r.payload }]);
        await client.query('UPDATE outbox SET published_at = clock_timestamp() WHERE id = $1', [r.id]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  };
  return {
    async start() {
      running = true;
      loop = (async () => {
        while (running) {
          await cycle();
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}

function outboxRelay(ctx: Ctx): Relay {
  return new OutboxRelay({
    pool: ctx.pool,
    publishers: { kafka: ctx.publisher },
    concurrency: 2,
    statsIntervalMs: 60_000,
    cleanupIntervalMs: 600_000,
  });
}

async function fillBacklog(ctx: Ctx): Promise<void> {
  for (let i = 0; i < BACKLOG; i += 2_000) {
    await inTransaction(ctx.pool, (tx) =>
      enqueue(
        tx,
        Array.from({ length: 2_000 }, (_, j) => row(ctx.topic, i + j)),
      ),
    );
  }
}

async function waitUntilDrained(pool: Pool): Promise<void> {
  while ((await stats(pool)).pending > 0) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Writers committing single-row transactions at `rate`/s in total for `ms`; returns commit times by row id. */
async function writeAtRate(ctx: Ctx, rate: number, ms: number): Promise<Map<string, number>> {
  const commits = new Map<string, number>();
  const interval = (1000 * WRITERS) / rate;
  const until = now() + ms;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      let next = now() + (interval * w) / WRITERS;
      for (let i = 0; now() < until; i++) {
        const wait = next - now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        next += interval;
        const [written] = await inTransaction(ctx.pool, (tx) => enqueue(tx, [row(ctx.topic, w * 1_000_000 + i)]));
        commits.set(written.id, now());
      }
    }),
  );
  return commits;
}

async function measure(ctx: Ctx, makeRelay: (ctx: Ctx) => Relay): Promise<Record<string, number>> {
  await ctx.pool.query('TRUNCATE outbox');
  await fillBacklog(ctx);
  const relay = makeRelay(ctx);
  const started = now();
  await relay.start();
  await waitUntilDrained(ctx.pool);
  const drainSeconds = (now() - started) / 1000;

  const commits = await writeAtRate(ctx, ctx.writerMaxRate / 2, LATENCY_PHASE_MS);
  await waitUntilDrained(ctx.pool);
  await relay.stop();
  const { rows } = await ctx.pool.query<{ id: string; published: number }>(
    'SELECT id, extract(epoch FROM published_at)::float8 * 1000 AS published FROM outbox WHERE id = ANY($1::bigint[])',
    [[...commits.keys()]],
  );
  const latencies = rows.map((r) => r.published - (commits.get(r.id) ?? r.published));
  return {
    'drain rows/s': BACKLOG / drainSeconds,
    'p50 ms': percentile(latencies, 50),
    'p99 ms': percentile(latencies, 99),
    'writes/s': commits.size / (LATENCY_PHASE_MS / 1000),
  };
}

/**
 * Relay throughput from a 20,000-row backlog, then commit→publish latency
 * (client commit → published_at, taken after the broker ack) while writers run
 * at half the rate they reach alone. Same Postgres, Kafka topic and rows for both.
 */
export default defineBenchmark<Ctx>({
  name: 'outbox-relay',
  description: `drain ${BACKLOG} rows, then latency at half the writers' max rate (${WRITERS} writers, single-row transactions)`,
  rounds: 3,
  headline: { metric: 'drain rows/s', higherIsBetter: true },
  async setup() {
    const db = await migratedSchema(new TestResources(), { migrate, readMigrations });
    const topic = await db.resources.topic('bench-outbox', 12);
    const publisher = new KafkaPublisher(db.resources.kafka);
    await publisher.publish(topic, [{ body: 'warm-up' }]);
    const probe: Ctx = { ...db, publisher, topic, writerMaxRate: Number.POSITIVE_INFINITY };
    const written = await writeAtRate(probe, Number.POSITIVE_INFINITY, 2_000);
    const writerMaxRate = written.size / 2;
    console.log(`writers alone: ${Math.round(writerMaxRate)} single-row transactions/s; latency phase runs at half`);
    return { ...probe, writerMaxRate };
  },
  async teardown({ resources, publisher }) {
    await publisher.close();
    await resources.cleanup();
  },
  baseline: { name: 'naive single poller', run: (ctx) => measure(ctx, naiveRelay) },
  candidates: [{ name: 'OutboxRelay (buckets, NOTIFY, batches)', run: (ctx) => measure(ctx, outboxRelay) }],
});
