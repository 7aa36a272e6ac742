import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Message } from '@aws-sdk/client-sqs';
import type { Pool } from 'pg';
import { Consumer } from 'sqs-consumer';
import { defineBenchmark } from '@qls/bench';
import type { InboundMessage } from '@qls/messaging';
import { migrate, readMigrations } from '@qls/provisioning';
import { SqsConsumer, SqsPublisher } from '@qls/sqs';
import { TestResources } from '@qls/testing';
import { LocalProvider, NotificationHandler, SendGuard, channels } from './index';

const MESSAGES = 2_000;
const PROVIDER_LATENCY_MS = 50;

interface Ctx {
  readonly resources: TestResources;
  readonly pool: Pool;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly handler: NotificationHandler;
}

interface Runner {
  start(): void;
  stop(): Promise<void>;
}

async function fillQueue(ctx: Ctx): Promise<void> {
  await ctx.pool.query('TRUNCATE notifications, provider_sends');
  const ids = Array.from({ length: MESSAGES }, () => randomUUID());
  await ctx.pool.query(
    `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data)
     SELECT id, 'user-' || (row_number() OVER ()) % 100, id::text, 'email', 'welcome', '{}' FROM unnest($1::uuid[]) AS id`,
    [ids],
  );
  const publisher = new SqsPublisher(ctx.resources.sqs);
  const bodies = ids.map((id) => ({
    body: JSON.stringify({ schemaVersion: 1, notificationId: id, userId: 'u', channel: 'email', template: 'welcome', data: {} }),
  }));
  await Promise.all(Array.from({ length: 10 }, (_, i) => publisher.publish(ctx.queueUrl, bodies.slice(i * 200, (i + 1) * 200))));
}

/** Drains the queue with `runner`; same handler (guard + provider with 50 ms latency) for both consumers. */
async function measure(ctx: Ctx, makeRunner: (ctx: Ctx) => Runner): Promise<Record<string, number>> {
  await fillQueue(ctx);
  const runner = makeRunner(ctx);
  const cpu = process.cpuUsage();
  const started = performance.now();
  runner.start();
  for (;;) {
    const { rows } = await ctx.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM notifications WHERE status = 'sent'");
    if (rows[0].n >= MESSAGES) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await runner.stop();
  const cpuSeconds = (used.user + used.system) / 1e6;
  return { 'msgs/s': MESSAGES / seconds, 'msgs per CPU-s': MESSAGES / cpuSeconds };
}

const ours = (ctx: Ctx): Runner => {
  const consumer = new SqsConsumer(ctx.resources.sqs, {
    queueUrl: ctx.queueUrl,
    deadLetterQueueUrl: ctx.dlqUrl,
    concurrency: 100,
    receivers: 2,
    waitTimeSeconds: 1,
  });
  return { start: () => void consumer.start(ctx.handler.handle), stop: () => consumer.stop() };
};

/** bbc/sqs-consumer with its usual setup: batches of 10, each batch finished before the next receive. */
const bbc = (ctx: Ctx): Runner => {
  const consumer = Consumer.create({
    queueUrl: ctx.queueUrl,
    sqs: ctx.resources.sqs,
    batchSize: 10,
    waitTimeSeconds: 1,
    messageAttributeNames: ['All'],
    messageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
    handleMessage: async (message: Message) => {
      await ctx.handler.handle(toInbound(message, ctx.queueUrl));
      return message;
    },
  });
  return {
    start: () => consumer.start(),
    stop: async () => {
      // Without abort: an aborted long poll can still take messages on the server (the next round would wait out their visibility).
      const stopped = new Promise((resolve) => consumer.once('stopped', resolve));
      consumer.stop();
      await stopped;
      await new Promise((resolve) => setTimeout(resolve, 1_200)); // its last 1 s poll
    },
  };
};

function toInbound(message: Message, queueUrl: string): InboundMessage {
  return {
    id: message.MessageId ?? '',
    key: undefined,
    body: message.Body ?? '',
    headers: {},
    attempt: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
    timestamp: Number(message.Attributes?.SentTimestamp ?? Date.now()),
    source: { system: 'sqs', queueUrl },
  };
}

/**
 * Worker throughput on the same ElasticMQ queue with a 50 ms provider:
 * bbc/sqs-consumer (the library most Node services use) against SqsConsumer,
 * one consumer each, the same notification handler (Redis + Postgres guard,
 * local provider) behind both.
 */
export default defineBenchmark<Ctx>({
  name: 'worker-throughput',
  description: `${MESSAGES} queued notifications, provider latency ${PROVIDER_LATENCY_MS} ms, one consumer in this process`,
  rounds: 3,
  headline: { metric: 'msgs/s', higherIsBetter: true },
  async setup() {
    const resources = new TestResources();
    const { pool } = await resources.postgres();
    await migrate(pool, readMigrations(join(__dirname, '../../../infra/migrations')));
    const { url, dlqUrl } = await resources.queue('bench-notifications', { maxReceiveCount: 3 });
    const providers = new Map(channels.map((channel) => [channel, new LocalProvider(channel, pool, { latencyMs: PROVIDER_LATENCY_MS })]));
    const handler = new NotificationHandler(new SendGuard(pool, resources.redis(), { leaseMs: 60_000 }), providers);
    return { resources, pool, queueUrl: url, dlqUrl: dlqUrl ?? '', handler };
  },
  teardown: ({ resources }) => resources.cleanup(),
  baseline: { name: 'bbc/sqs-consumer (batch 10)', run: (ctx) => measure(ctx, bbc) },
  candidates: [{ name: 'SqsConsumer (pool of 100, 2 receivers)', run: (ctx) => measure(ctx, ours) }],
});
