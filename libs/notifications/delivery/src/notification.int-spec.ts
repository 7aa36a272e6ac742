import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { GetQueueAttributesCommand, type Message, ReceiveMessageCommand, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import type { Pool } from 'pg';
import { migrate, readMigrations } from '@qls/provisioning';
import { SqsConsumer, SqsPublisher, queueDepth, queueUrlResolver } from '@qls/sqs';
import { OutboxRelay, enqueue, inTransaction } from '@qls/outbox';
import { startTestTelemetry } from '@qls/observability/testing';
import { trace } from '@opentelemetry/api';
import { TestResources, waitFor } from '@qls/testing';
import {
  type Channel,
  LocalProvider,
  NOTIFICATION_REQUESTED,
  NotificationHandler,
  type ProviderFaults,
  SendGuard,
  channels,
} from './index';

const migrations = join(__dirname, '../../../../infra/migrations');

describe('notification worker (real ElasticMQ, Postgres, Redis)', () => {
  let resources: TestResources;
  let pool: Pool;
  let queue: { url: string; dlqUrl: string };
  let providers: Map<Channel, LocalProvider>;
  let consumers: SqsConsumer[];

  beforeEach(async () => {
    resources = new TestResources();
    ({ pool } = await resources.postgres());
    await migrate(pool, readMigrations(migrations));
    const { url, dlqUrl } = await resources.queue('notifications', { visibilityTimeoutSeconds: 3, maxReceiveCount: 10 });
    queue = { url, dlqUrl: dlqUrl ?? '' };
    providers = new Map(channels.map((channel) => [channel, new LocalProvider(channel, pool)]));
    consumers = [];
  });

  afterEach(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await resources.cleanup();
  });

  function provider(channel: Channel): LocalProvider {
    const found = providers.get(channel);
    if (!found) throw new Error(`no provider for ${channel}`);
    return found;
  }

  function faults(all: ProviderFaults): void {
    for (const provider of providers.values()) provider.faults = all;
  }

  /** A worker: guard + handler + pooled consumer, as apps/notifications/worker wires them. */
  function startWorker(options: { leaseMs?: number; concurrency?: number } = {}): SqsConsumer {
    const guard = new SendGuard(pool, resources.redis(), { leaseMs: options.leaseMs ?? 10_000 });
    const handler = new NotificationHandler(guard, providers, { maxAttempts: 3 });
    const consumer = new SqsConsumer(resources.sqs, {
      queueUrl: queue.url,
      deadLetterQueueUrl: queue.dlqUrl,
      concurrency: options.concurrency ?? 20,
      waitTimeSeconds: 1,
      visibilityTimeoutSeconds: 3,
      retry: { initialMs: 1_000, maxMs: 1_000 },
      maxReceiveCount: 10,
      onDeadLettered: handler.deadLettered,
    });
    consumers.push(consumer);
    void consumer.start(handler.handle);
    return consumer;
  }

  /** Rows as the API writes them, and their messages as the outbox relay publishes them. */
  async function request(count: number, channel: Channel = 'email'): Promise<string[]> {
    const ids = Array.from({ length: count }, () => randomUUID());
    await pool.query(
      `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data)
       SELECT id, 'user-' || (row_number() OVER ()) % 50, id::text, $2, 'welcome', '{}' FROM unnest($1::uuid[]) AS id`,
      [ids, channel],
    );
    await new SqsPublisher(resources.sqs).publish(
      queue.url,
      ids.map((id) => ({ body: message(id, channel) })),
    );
    return ids;
  }

  const message = (id: string, channel: Channel) =>
    JSON.stringify({ schemaVersion: 1, notificationId: id, userId: 'user-1', channel, template: 'welcome', data: { name: 'Ada' } });

  async function sends(): Promise<Map<string, { calls: number; delivered: number }>> {
    const { rows } = await pool.query<{ notification_id: string; calls: number; delivered: number }>(
      'SELECT notification_id, count(*)::int AS calls, count(*) FILTER (WHERE NOT duplicate)::int AS delivered FROM provider_sends GROUP BY 1',
    );
    return new Map(rows.map((r) => [r.notification_id, { calls: r.calls, delivered: r.delivered }]));
  }

  async function statusCounts(): Promise<Record<string, number>> {
    const { rows } = await pool.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM notifications GROUP BY 1');
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async function queuesEmpty(): Promise<boolean> {
    const [main, dlq] = await Promise.all([queueDepth(resources.sqs, queue.url), queueDepth(resources.sqs, queue.dlqUrl)]);
    return main.visible + main.inFlight + dlq.visible + dlq.inFlight === 0;
  }

  it('sends 1,000 notifications exactly once while 5 % of first sends fail transiently, and leaves no message behind', async () => {
    faults({ failFirstSendOf: 0.05 });
    const ids = await request(1_000);
    startWorker();
    startWorker();

    await waitFor(async () => (await statusCounts())['sent'] === 1_000, { timeoutMs: 120_000, intervalMs: 500, description: '1,000 sent' });
    const counted = await sends();
    expect(ids.filter((id) => counted.get(id)?.calls !== 1)).toEqual([]);
    const retried = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM notifications WHERE attempts = 2')).rows[0].n;
    expect(retried).toBeGreaterThan(20);
    expect(retried).toBeLessThan(90);
    await waitFor(queuesEmpty, { timeoutMs: 20_000, description: 'both queues empty' });
  }, 180_000);

  it('sends a poison message and a permanent failure to the DLQ after one receive, with the reason', async () => {
    const [rejected] = await request(1, 'sms');
    provider('sms').faults = { permanent: true };
    const publisher = new SqsPublisher(resources.sqs);
    await publisher.publish(queue.url, [
      { body: 'not json' },
      { body: JSON.stringify({ schemaVersion: 2, notificationId: randomUUID() }) },
    ]);
    startWorker();

    const received = new Map<string, Message>();
    await waitFor(
      async () => {
        const { Messages = [] } = await resources.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.dlqUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            VisibilityTimeout: 60,
            MessageAttributeNames: ['All'],
          }),
        );
        for (const m of Messages) received.set(m.MessageId ?? '', m);
        return received.size === 3;
      },
      { timeoutMs: 20_000, description: 'three dead letters' },
    );
    const dead = [...received.values()];
    const reasons = dead
      .map((m) => `${m.MessageAttributes?.['x-error-code']?.StringValue}: ${m.MessageAttributes?.['x-error-reason']?.StringValue}`)
      .sort();
    expect(reasons).toEqual([
      expect.stringMatching(/^NOTIFICATION\.POISON: message body is not JSON$/),
      expect.stringMatching(/^NOTIFICATION\.POISON: not a NotificationRequested\.v1 message: schemaVersion/),
      expect.stringMatching(/^PROVIDER\.REJECTED: sms provider rejected/),
    ]);
    // The row says so once the copy is in the DLQ (onDeadLettered), an instant after the copy is visible.
    const row = await waitFor(
      async () =>
        (await pool.query("SELECT status, attempts, last_error FROM notifications WHERE id = $1 AND status = 'dead_lettered'", [rejected]))
          .rows[0],
      { description: 'the rejected notification recorded as dead-lettered' },
    );
    expect(row).toMatchObject({ status: 'dead_lettered', attempts: 1, last_error: expect.stringMatching(/^PROVIDER\.REJECTED: /) });
  });

  it('dead-letters a transient failure that never recovers after exactly 3 failed provider attempts, and sends it once redriven', async () => {
    const [id] = await request(1, 'push');
    provider('push').faults = { transientRate: 1 };
    startWorker();
    await waitFor(async () => (await queueDepth(resources.sqs, queue.dlqUrl)).visible === 1, { timeoutMs: 30_000, description: 'the DLQ' });
    await waitFor(
      async () =>
        (
          await pool.query(
            "SELECT 1 FROM notifications WHERE id = $1 AND status = 'dead_lettered' AND attempts = 3 AND provider_failures = 3",
            [id],
          )
        ).rowCount === 1,
      { description: 'the row dead_lettered after 3 attempts, 3 of them failed' },
    );

    provider('push').faults = {};
    const { Attributes } = await resources.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    await resources.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: Attributes?.QueueArn }));
    await waitFor(async () => (await sends()).get(id)?.delivered === 1, { timeoutMs: 20_000, description: 'the redriven send' });
    expect((await pool.query('SELECT status FROM notifications WHERE id = $1', [id])).rows[0].status).toBe('sent');
  });

  it('sends once when the same message reaches two workers at once', async () => {
    faults({ latencyMs: 500 });
    const [id] = await request(1);
    await new SqsPublisher(resources.sqs).publish(queue.url, [{ body: message(id, 'email') }]);
    startWorker();
    startWorker();
    await waitFor(async () => (await statusCounts())['sent'] === 1 && (await queuesEmpty()), {
      timeoutMs: 30_000,
      description: 'sent, and both copies acknowledged',
    });
    expect((await sends()).get(id)).toEqual({ calls: 1, delivered: 1 });
  });

  it('keeps a send slower than the visibility timeout with heartbeats, and sends once', async () => {
    faults({ latencyMs: 7_000 });
    const [id] = await request(1);
    startWorker({ leaseMs: 3_000 });
    await waitFor(async () => (await statusCounts())['sent'] === 1, { timeoutMs: 30_000, description: 'the slow send' });
    expect((await sends()).get(id)).toEqual({ calls: 1, delivered: 1 });
    expect((await pool.query('SELECT attempts FROM notifications WHERE id = $1', [id])).rows[0].attempts).toBe(1);
  });

  it('loses nothing and delivers nothing twice when a worker is SIGKILLed mid-batch under load', async () => {
    const ids = await request(300);
    const schema = (await pool.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0].schema;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(__dirname, 'testing/worker.process.ts'),
        JSON.stringify({
          databaseUrl: resources.env.DATABASE_URL,
          schema,
          redisUrl: resources.env.REDIS_URL,
          sqsEndpoint: resources.env.SQS_ENDPOINT,
          region: resources.env.AWS_REGION,
          queueUrl: queue.url,
          dlqUrl: queue.dlqUrl,
          latencyMs: 200,
          leaseMs: 3_000,
        }),
      ],
      { stdio: 'inherit' },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    await waitFor(async () => ((await statusCounts())['sent'] ?? 0) >= 50, { timeoutMs: 30_000, description: 'the child worker sending' });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect((await statusCounts())['sent']).toBeLessThan(300);

    faults({ latencyMs: 200 });
    startWorker({ leaseMs: 3_000 });
    await waitFor(async () => (await statusCounts())['sent'] === 300, { timeoutMs: 60_000, intervalMs: 500, description: 'all 300 sent' });
    const counted = await sends();
    expect(ids.filter((id) => counted.get(id)?.delivered !== 1)).toEqual([]);
    await waitFor(queuesEmpty, { timeoutMs: 20_000, description: 'both queues empty' });
  }, 120_000);

  it('on the FIFO path (MessageGroupId = userId) sends the notifications of each user in order', async () => {
    const { url, dlqUrl } = await resources.queue('notifications', { fifo: true, visibilityTimeoutSeconds: 3, maxReceiveCount: 10 });
    queue = { url, dlqUrl: dlqUrl ?? '' };
    faults({ failFirstSendOf: 0.1 });
    const users = ['ada', 'bob', 'cyd', 'dan'];
    const ids: string[] = [];
    for (let seq = 0; seq < 15; seq++) {
      for (const user of users) {
        const id = randomUUID();
        ids.push(id);
        await pool.query(
          `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data) VALUES ($1, $2, $3, 'email', 'digest', $4)`,
          [id, user, id, JSON.stringify({ seq })],
        );
        await new SqsPublisher(resources.sqs).publish(url, [
          {
            key: user,
            deduplicationId: id,
            body: JSON.stringify({
              schemaVersion: 1,
              notificationId: id,
              userId: user,
              channel: 'email',
              template: 'digest',
              data: { seq },
            }),
          },
        ]);
      }
    }
    startWorker();
    await waitFor(async () => (await statusCounts())['sent'] === ids.length, { timeoutMs: 60_000, description: `${ids.length} sent` });
    const { rows } = await pool.query<{ user_id: string; seq: number }>(
      `SELECT payload->>'userId' AS user_id, (payload->'data'->>'seq')::int AS seq FROM provider_sends WHERE NOT duplicate ORDER BY id`,
    );
    for (const user of users) {
      expect(rows.filter((r) => r.user_id === user).map((r) => r.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    }
  }, 90_000);

  it('traces one request from the API transaction through the outbox, SQS and the worker to the provider send', async () => {
    const telemetry = startTestTelemetry();
    try {
      const id = randomUUID();
      const queueName = queue.url.slice(queue.url.lastIndexOf('/') + 1);
      let requestSpan: { traceId: string; spanId: string } | undefined;
      await trace.getTracer('test').startActiveSpan('POST /notifications', async (span) => {
        requestSpan = span.spanContext();
        await inTransaction(pool, async (tx) => {
          await tx.client.query(
            `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data) VALUES ($1, 'u1', $2, 'sms', 'otp', '{}')`,
            [id, id],
          );
          await enqueue(tx, [
            {
              aggregateType: 'notification',
              aggregateId: id,
              eventType: NOTIFICATION_REQUESTED,
              payload: { schemaVersion: 1, notificationId: id, userId: 'u1', channel: 'sms', template: 'otp', data: {} },
              destination: { sqs: queueName },
              key: 'u1',
            },
          ]);
        });
        span.end();
      });
      const relay = new OutboxRelay({
        pool,
        publishers: { sqs: new SqsPublisher(resources.sqs) },
        sqsQueueUrl: queueUrlResolver(resources.sqs),
        pollIntervalMs: 200,
      });
      await relay.start();
      resources.onCleanup(() => relay.stop());
      startWorker();

      const send = await waitFor(() => telemetry.spans().find((s) => s.name === 'send sms'), {
        timeoutMs: 20_000,
        description: 'the provider send span',
      });
      const spans = telemetry.spans();
      const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
      const chain: string[] = [];
      for (let span: (typeof spans)[number] | undefined = send; span; span = byId.get(span.parentSpanContext?.spanId ?? ''))
        chain.unshift(span.name);
      expect(send.spanContext().traceId).toBe(requestSpan?.traceId);
      expect(chain[0]).toBe('POST /notifications');
      expect(chain).toContain(`process ${queueName}`);
      expect(chain[chain.length - 1]).toBe('send sms');
    } finally {
      await telemetry.shutdown();
    }
  });
});
