import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Pool } from 'pg';
import { loadConfig } from '@qls/config';
import { createLogger } from '@qls/observability';
import { SqsPublisher } from '@qls/sqs';
import { TestResources, waitFor } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/** The worker app wired for real: Nest module, SQS consumer, guard, providers, metrics. */
describe('notification-worker app (real servers)', () => {
  let resources: TestResources;
  let app: INestApplication | undefined;
  let pool: Pool;

  beforeEach(() => {
    resources = new TestResources();
    pool = new Pool({ connectionString: resources.env.DATABASE_URL, max: 2 });
  });

  afterEach(async () => {
    await app?.close();
    await pool.end();
    await resources.cleanup();
  });

  it('sends a queued notification, records it, and exposes its metrics and readiness', async () => {
    const { url } = await resources.queue('notifications', { maxReceiveCount: 3 });
    const name = url.slice(url.lastIndexOf('/') + 1);
    const config = loadConfig(configSchema, {
      ...process.env,
      NOTIFICATIONS_QUEUE: name,
      NOTIFICATIONS_DLQ: `${name.replace(/\.fifo$/, '')}-dlq`,
      WORKER_CONCURRENCY: '5',
      LOG_LEVEL: 'warn',
    });
    app = await NestFactory.create(
      AppModule.register({ config, service: 'notification-worker', logger: createLogger({ service: 'test', level: 'warn' }) }),
      {
        logger: false,
      },
    );
    await app.listen(0);
    const base = await app.getUrl();

    const id = randomUUID();
    // The migrations ran in the public schema when the local servers were provisioned.
    await pool.query(
      `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data) VALUES ($1, 'u1', $2, 'push', 'hello', '{}')`,
      [id, id],
    );
    await new SqsPublisher(resources.sqs).publish(url, [
      { body: JSON.stringify({ schemaVersion: 1, notificationId: id, userId: 'u1', channel: 'push', template: 'hello', data: {} }) },
    ]);

    await waitFor(async () => (await pool.query('SELECT status FROM notifications WHERE id = $1', [id])).rows[0]?.status === 'sent', {
      timeoutMs: 30_000,
      description: 'the notification sent',
    });
    expect((await pool.query('SELECT count(*)::int AS n FROM provider_sends WHERE notification_id = $1', [id])).rows[0].n).toBe(1);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/notification_sends_total\{channel="push",outcome="sent"[^}]*\} 1/);
    expect(metrics).toMatch(/notification_provider_circuit_state\{channel="email"[^}]*\} 0/);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
  });
});
