import { randomUUID } from 'node:crypto';
import { defineBenchmark } from '@qls/bench';
import { SqsPublisher } from '@qls/sqs';
import { migrate, readMigrations } from '@qls/provisioning';
import { type MigratedSchema, TestResources, migratedSchema } from '@qls/testing';
import {
  BBC_CONSUMER_NAME,
  type ConsumerRunner,
  type ConsumerTarget,
  SQS_CONSUMER_NAME,
  bbcConsumer,
  sqsConsumer,
} from './bench-consumers';
import { LocalProvider, NotificationHandler, SendGuard, channels } from './index';

const MESSAGES = 2_000;
const PROVIDER_LATENCY_MS = 50;

interface Ctx extends MigratedSchema {
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly handler: NotificationHandler;
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

/** Drains the queue with `consumer`; same handler (guard + provider with 50 ms latency) for both consumers. */
async function measure(
  ctx: Ctx,
  consumer: (target: ConsumerTarget, handle: NotificationHandler['handle']) => ConsumerRunner,
): Promise<Record<string, number>> {
  await fillQueue(ctx);
  const runner = consumer({ sqs: ctx.resources.sqs, queueUrl: ctx.queueUrl, deadLetterQueueUrl: ctx.dlqUrl }, ctx.handler.handle);
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
    const db = await migratedSchema(new TestResources(), { migrate, readMigrations });
    const { resources, pool } = db;
    const { url, dlqUrl } = await resources.queue('bench-notifications', { maxReceiveCount: 10 });
    const providers = new Map(channels.map((channel) => [channel, new LocalProvider(channel, pool, { latencyMs: PROVIDER_LATENCY_MS })]));
    const handler = new NotificationHandler(new SendGuard(pool, resources.redis(), { leaseMs: 60_000 }), providers);
    return { ...db, queueUrl: url, dlqUrl: dlqUrl ?? '', handler };
  },
  teardown: ({ resources }) => resources.cleanup(),
  baseline: { name: BBC_CONSUMER_NAME, run: (ctx) => measure(ctx, bbcConsumer) },
  candidates: [{ name: SQS_CONSUMER_NAME, run: (ctx) => measure(ctx, sqsConsumer) }],
});
