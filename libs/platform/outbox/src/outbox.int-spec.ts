import { type ChildProcess, spawn } from 'node:child_process';
import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import type { EachBatchPayload } from 'kafkajs';
import type { Pool, PoolClient } from 'pg';
import { KafkaPublisher } from '@qls/kafka';
import { MetricsRegistry } from '@qls/observability';
import { startTestTelemetry } from '@qls/observability/testing';
import { migrate, readMigrations } from '@qls/provisioning';
import { SqsPublisher, queueUrlOf } from '@qls/sqs';
import { TestResources, uniqueName, waitFor } from '@qls/testing';
import {
  type OutboxEvent,
  OutboxRelay,
  type OutboxRelayOptions,
  createOutboxMetrics,
  deletePublished,
  enqueue,
  inTransaction,
  retryParked,
  stats,
} from './index';
import { type OutboxRow, claim, markFailed } from './lib/outbox.store';

const migrations = join(__dirname, '../../../../infra/migrations');

async function schemaOf(pool: Pool): Promise<string> {
  return (await pool.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0].schema;
}

interface Received {
  readonly eventId: string;
  readonly aggregateId: string;
  readonly seq: number;
  readonly headers: Record<string, string>;
}

describe('transactional outbox (real Postgres, Kafka, ElasticMQ)', () => {
  let resources: TestResources;
  let pool: Pool;
  let publisher: KafkaPublisher;
  let relays: OutboxRelay[];

  beforeEach(async () => {
    resources = new TestResources();
    ({ pool } = await resources.postgres());
    await migrate(pool, readMigrations(migrations));
    publisher = new KafkaPublisher(resources.kafka);
    relays = [];
  });

  afterEach(async () => {
    await Promise.all(relays.map((r) => r.stop()));
    await publisher.close();
    await resources.cleanup();
  });

  async function startRelay(options: Partial<OutboxRelayOptions> = {}): Promise<OutboxRelay> {
    const relay = new OutboxRelay({
      pool,
      publishers: { kafka: publisher, sqs: new SqsPublisher(resources.sqs) },
      sqsQueueUrl: (name) => queueUrlOf(resources.sqs, name),
      pollIntervalMs: 200,
      retry: { initialMs: 50, maxMs: 100 },
      ...options,
    });
    relays.push(relay);
    await relay.start();
    return relay;
  }

  /**
   * A relay in a process of its own (testing/relay.process.ts), run by the
   * in-process TypeScript loader so that a signal hits the relay, not a wrapper.
   */
  function spawnRelay(schema: string, options: Record<string, number>): ChildProcess {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(__dirname, 'testing/relay.process.ts'),
        JSON.stringify({ databaseUrl: resources.env.DATABASE_URL, schema, brokers: resources.env.KAFKA_BROKERS, ...options }),
      ],
      { stdio: 'inherit' },
    );
    resources.onCleanup(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    });
    return child;
  }

  /** Reads a topic from the beginning into `received`. */
  async function collect(topic: string): Promise<Received[]> {
    const received: Received[] = [];
    const consumer = resources.kafka.consumer({ groupId: uniqueName('verify') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }: EachBatchPayload) => {
        for (const m of batch.messages) {
          const headers = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]));
          received.push({
            eventId: headers['event-id'],
            aggregateId: headers['aggregate-id'],
            seq: (JSON.parse(String(m.value)) as { seq: number }).seq,
            headers,
          });
        }
      },
    });
    resources.onCleanup(() => consumer.disconnect());
    return received;
  }

  const event = (topic: string, aggregateId: string, seq: number): OutboxEvent => ({
    aggregateType: 'thing',
    aggregateId,
    eventType: 'ThingHappened.v1',
    payload: { seq },
    destination: { kafka: topic },
  });

  it('publishes committed events with event id, type, aggregate and trace context as headers', async () => {
    const topic = await resources.topic('outbox', 3);
    const received = await collect(topic);
    const telemetry = startTestTelemetry();
    let traceId = '';
    try {
      await trace.getTracer('test').startActiveSpan('POST /things', async (span) => {
        traceId = span.spanContext().traceId;
        await inTransaction(pool, (tx) => enqueue(tx, [event(topic, 'a-1', 1)]));
        span.end();
      });
    } finally {
      await telemetry.shutdown();
    }
    await startRelay();
    await waitFor(() => received.length === 1, { timeoutMs: 20_000, description: 'the published event' });
    const { rows } = await pool.query('SELECT event_id, published_at FROM outbox');
    expect(received[0]).toMatchObject({ eventId: rows[0].event_id, aggregateId: 'a-1', seq: 1 });
    expect(received[0].headers).toMatchObject({ 'event-type': 'ThingHappened.v1', 'aggregate-type': 'thing' });
    expect(received[0].headers['traceparent']).toContain(traceId);
    await waitFor(async () => (await pool.query('SELECT published_at FROM outbox WHERE published_at IS NOT NULL')).rowCount === 1, {
      description: 'the row marked published',
    });
  });

  it('never publishes a row written in a rolled-back transaction', async () => {
    const topic = await resources.topic('outbox', 1);
    const received = await collect(topic);
    await expect(
      inTransaction(pool, async (tx) => {
        await enqueue(tx, [event(topic, 'a', 1)]);
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    await inTransaction(pool, (tx) => enqueue(tx, [event(topic, 'a', 2)]));
    await startRelay();

    await waitFor(() => received.length >= 1, { timeoutMs: 20_000, description: 'the committed event' });
    await waitFor(async () => (await stats(pool)).pending === 0, { description: 'an empty backlog' });
    expect(received.map((r) => r.seq)).toEqual([2]);
    expect((await pool.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n).toBe(1);
  });

  it('wakes on NOTIFY at commit instead of waiting for the poll', async () => {
    const topic = await resources.topic('outbox', 1);
    const received = await collect(topic);
    await startRelay({ pollIntervalMs: 60_000 });
    await inTransaction(pool, (tx) => enqueue(tx, [event(topic, 'a', 1)]));
    const committedAt = Date.now();
    await waitFor(() => received.length === 1, { timeoutMs: 10_000, description: 'the event, long before the 60 s poll' });
    expect(received[0].seq).toBe(1);
    expect(Date.now() - committedAt).toBeLessThan(60_000);
  });

  it('still finds rows when notifications are lost, by polling', async () => {
    const topic = await resources.topic('outbox', 1);
    const received = await collect(topic);
    await startRelay({ pollIntervalMs: 300 });
    await pool.query('ALTER TABLE outbox DISABLE TRIGGER outbox_notify');
    await inTransaction(pool, (tx) => enqueue(tx, [event(topic, 'a', 1), event(topic, 'b', 1)]));
    await waitFor(() => received.length === 2, { timeoutMs: 10_000, description: 'both events, found by the poll' });
    expect(received.map((r) => r.aggregateId).sort()).toEqual(['a', 'b']);
  });

  it('claims in id order, holding back the rows after a failing one of the same aggregate and destination', async () => {
    await inTransaction(pool, (tx) =>
      enqueue(tx, [{ ...event('x', 'a', 1) }, { ...event('x', 'a', 2) }, { ...event('y', 'a', 3) }, { ...event('x', 'b', 1) }]),
    );
    const ids = async (work: (client: PoolClient) => Promise<{ rows: OutboxRow[] }>) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await work(client);
        await client.query('COMMIT');
        return rows.map((r) => `${r.aggregateId}${JSON.parse(r.payload).seq}`);
      } finally {
        client.release();
      }
    };
    const [a1] = (await pool.query<{ id: string }>('SELECT id FROM outbox ORDER BY id LIMIT 1')).rows;
    expect(await ids((c) => claim(c, 64, 100))).toEqual(['a1', 'a2', 'a3', 'b1']);

    await ids(async (c) => (await markFailed(c, [a1.id], 'TEST: down', 60_000, false), { rows: [] }));
    expect(await ids((c) => claim(c, 64, 100))).toEqual(['a3', 'b1']);

    await ids(async (c) => (await markFailed(c, [a1.id], 'TEST: still down', 0, true), { rows: [] }));
    expect(await ids((c) => claim(c, 64, 100))).toEqual(['a2', 'a3', 'b1']);

    expect(await retryParked(pool, [a1.id])).toBe(1);
    expect(await ids((c) => claim(c, 64, 100))).toEqual(['a1', 'a2', 'a3', 'b1']);
  });

  it('gives two relays disjoint buckets: a claim skips buckets another transaction holds', async () => {
    await inTransaction(pool, (tx) =>
      enqueue(
        tx,
        Array.from({ length: 200 }, (_, i) => event('x', `agg-${i}`, 1)),
      ),
    );
    const [first, second] = [await resources.client(pool), await resources.client(pool)];
    await first.query('BEGIN');
    await second.query('BEGIN');
    const { rows: mine } = await claim(first, 8, 1_000);
    const { rows: theirs } = await claim(second, 8, 1_000);
    await first.query('ROLLBACK');
    await second.query('ROLLBACK');
    const bucketsOf = async (rows: OutboxRow[]) =>
      (
        await pool.query<{ bucket: number }>('SELECT DISTINCT bucket FROM outbox WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)])
      ).rows.map((r) => r.bucket);
    const [a, b] = [await bucketsOf(mine), await bucketsOf(theirs)];
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    expect(a.filter((bucket) => b.includes(bucket))).toEqual([]);
  });

  it('backs off a failing row, parks it after maxAttempts with its error and counts it, and publishes it once retried', async () => {
    const topic = await resources.topic('outbox', 1);
    const received = await collect(topic);
    const queueName = uniqueName('not-yet');
    const registry = new MetricsRegistry({ service: 'test', defaultMetrics: false });
    await startRelay({ maxAttempts: 3, metrics: createOutboxMetrics(registry), statsIntervalMs: 100 });
    await inTransaction(pool, (tx) =>
      enqueue(tx, [{ ...event(topic, 'blocked', 1), destination: { sqs: queueName } }, event(topic, 'free', 1)]),
    );

    await waitFor(() => received.some((r) => r.aggregateId === 'free'), { timeoutMs: 10_000, description: 'the healthy event' });
    const parked = await waitFor(
      async () => (await pool.query('SELECT attempts, last_error FROM outbox WHERE parked_at IS NOT NULL')).rows[0],
      {
        timeoutMs: 10_000,
        description: 'the failing row to be parked',
      },
    );
    expect(parked.attempts).toBe(3);
    expect(parked.last_error).toMatch(/queue/i);
    await waitFor(async () => /outbox_parked_rows\{[^}]*\} 1\n/.test(await registry.scrape()), {
      timeoutMs: 10_000,
      description: 'the parked gauge',
    });
    expect(await registry.scrape()).toMatch(/outbox_publish_failures_total\{destination="sqs:[^"]+",code="[^"]+"[^}]*\} 3\n/);

    const { QueueUrl } = await resources.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
    resources.onCleanup(() => resources.sqs.send(new DeleteQueueCommand({ QueueUrl })));
    expect(await retryParked(pool)).toBe(1);
    await waitFor(async () => (await stats(pool)).pending === 0 && (await stats(pool)).parked === 0, {
      timeoutMs: 10_000,
      description: 'the retried row to be published',
    });
    const [message] = await resources.sqs
      .send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }))
      .then((r) => r.Messages ?? []);
    expect(message.MessageAttributes?.['aggregate-id']?.StringValue).toBe('blocked');
  });

  it('parks a row for a destination nobody publishes to at once, without retrying', async () => {
    await inTransaction(pool, (tx) => enqueue(tx, [{ ...event('x', 'a', 1), destination: { sqs: 'anything' } }]));
    await startRelay({ publishers: { kafka: publisher }, sqsQueueUrl: undefined });
    const parked = await waitFor(
      async () => (await pool.query('SELECT attempts, last_error FROM outbox WHERE parked_at IS NOT NULL')).rows[0],
      {
        description: 'the unroutable row parked',
      },
    );
    expect(parked).toEqual({ attempts: 1, last_error: 'OUTBOX.UNROUTABLE: no publisher configured for destination sqs:anything' });
  });

  it('deletes published rows once they are past retention, and keeps the rest', async () => {
    await inTransaction(pool, (tx) => enqueue(tx, [event('x', 'a', 1), event('x', 'a', 2), event('x', 'a', 3)]));
    await pool.query(`UPDATE outbox SET published_at = now() - interval '2 hours' WHERE id = (SELECT min(id) FROM outbox)`);
    await pool.query(`UPDATE outbox SET published_at = now() WHERE id = (SELECT max(id) FROM outbox)`);
    expect(await deletePublished(pool, 3_600_000)).toBe(1);
    expect((await pool.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n).toBe(2);
  });

  it('skips no row while writers hold their transactions open for 0–2 s and others commit', async () => {
    const topic = await resources.topic('outbox', 6);
    const received = await collect(topic);
    await startRelay();
    const committed: string[] = [];
    const slowWriter = async (writer: number) => {
      for (let txn = 0; txn < 5; txn++) {
        const ids = await inTransaction(pool, async (tx) => {
          const rows = await enqueue(
            tx,
            [0, 1, 2].map((i) => event(topic, `slow-${writer}`, txn * 3 + i)),
          );
          // The scenario under test: a transaction that stays open while later ids commit.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 2_000));
          return rows;
        });
        committed.push(...ids.map((r) => r.eventId));
      }
    };
    const fastWriter = async (writer: number) => {
      for (let txn = 0; txn < 100; txn++) {
        const ids = await inTransaction(pool, (tx) => enqueue(tx, [event(topic, `fast-${writer}`, txn)]));
        committed.push(...ids.map((r) => r.eventId));
      }
    };
    await Promise.all([...Array.from({ length: 10 }, (_, w) => slowWriter(w)), ...Array.from({ length: 4 }, (_, w) => fastWriter(w))]);

    expect(committed).toHaveLength(10 * 5 * 3 + 4 * 100);
    await waitFor(() => new Set(received.map((r) => r.eventId)).size >= committed.length, {
      timeoutMs: 30_000,
      description: `${committed.length} events at the consumer`,
    });
    const seen = new Set(received.map((r) => r.eventId));
    expect(committed.filter((id) => !seen.has(id))).toEqual([]);
  }, 120_000);

  it('keeps per-aggregate order with two relays on 50 aggregates × 10,000 events, and loses none', async () => {
    const aggregates = 50;
    const perAggregate = 10_000;
    const topic = await resources.topic('outbox-order', 12);
    const received = await collect(topic);
    // Two relay processes, as deployed, each with two claim loops, competing for the buckets.
    const schema = await schemaOf(pool);
    spawnRelay(schema, { concurrency: 2 });
    spawnRelay(schema, { concurrency: 2 });

    // Writers append in seq order per aggregate, 200 seqs of every aggregate per transaction.
    for (let from = 0; from < perAggregate; from += 200) {
      const events = Array.from({ length: aggregates }, (_, a) =>
        Array.from({ length: 200 }, (_, i) => event(topic, `agg-${a}`, from + i)),
      ).flat();
      await inTransaction(pool, (tx) => enqueue(tx, events));
    }

    const total = aggregates * perAggregate;
    const distinct = () => new Set(received.map((r) => r.eventId)).size;
    await waitFor(() => distinct() >= total, {
      timeoutMs: 240_000,
      intervalMs: 500,
      description: async () => {
        const { pending, parked } = await stats(pool);
        return `${total} events at the consumer (${distinct()} there; ${pending} pending and ${parked} parked in the outbox)`;
      },
    });
    // At-least-once: a batch whose publish failed after the broker wrote it
    // comes again. Consumers dedupe by event id, so order is judged on the
    // first copy of each event.
    const seen = new Set<string>();
    const last = new Map<string, number>();
    let violations = 0;
    for (const r of received) {
      if (seen.has(r.eventId)) continue;
      seen.add(r.eventId);
      const previous = last.get(r.aggregateId) ?? -1;
      if (r.seq < previous) violations++;
      last.set(r.aggregateId, Math.max(previous, r.seq));
    }
    expect(violations).toBe(0);
    expect(seen.size).toBe(total);
    expect([...last.values()].every((seq) => seq === perAggregate - 1)).toBe(true);
  }, 300_000);

  it('republishes, never loses, what a relay killed between publish and mark had sent', async () => {
    const topic = await resources.topic('outbox-crash', 3);
    const received = await collect(topic);
    const events = Array.from({ length: 20 }, (_, a) => Array.from({ length: 50 }, (_, i) => event(topic, `agg-${a}`, i))).flat();
    const enqueued = await inTransaction(pool, (tx) => enqueue(tx, events));
    const schema = await schemaOf(pool);

    const child = spawnRelay(schema, { batchSize: 100, bucketsPerClaim: 64, killAfterBatches: 3 });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    expect(signal).toBe('SIGKILL');
    // Some batches were marked; the last one reached Kafka but was never marked.
    const marked = events.length - (await stats(pool)).pending;
    expect(marked).toBeGreaterThan(0);
    expect(marked).toBeLessThan(events.length);
    await waitFor(() => received.length > marked, { timeoutMs: 20_000, description: 'the published-but-unmarked batch at the consumer' });

    await startRelay();
    await waitFor(async () => (await stats(pool)).pending === 0, { timeoutMs: 30_000, description: 'the backlog drained after restart' });
    await waitFor(() => new Set(received.map((r) => r.eventId)).size === events.length, { timeoutMs: 20_000, description: 'every event' });
    const counts = new Map<string, number>();
    for (const r of received) counts.set(r.eventId, (counts.get(r.eventId) ?? 0) + 1);
    expect(enqueued.filter((e) => !counts.has(e.eventId))).toEqual([]);
    // The unmarked batch went out twice (at-least-once), and nothing else did.
    const duplicated = [...counts.values()].filter((n) => n > 1);
    expect(duplicated.length).toBeGreaterThan(0);
    expect(duplicated.length).toBeLessThanOrEqual(100);
    expect(duplicated.every((n) => n === 2)).toBe(true);
  }, 120_000);
});
