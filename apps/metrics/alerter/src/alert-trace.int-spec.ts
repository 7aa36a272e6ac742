import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { exportJWK } from 'jose';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaConsumer, KafkaPublisher } from '@qls/kafka';
import { AlertNotifier, AlerterRunner } from '@qls/metrics-alerting';
import { encodeMetricPoint } from '@qls/metrics-contracts';
import { startTestTelemetry } from '@qls/observability/testing';
import { OutboxRelay } from '@qls/outbox';
import { migrate, readMigrations } from '@qls/provisioning';
import { SqsPublisher, queueUrlOf } from '@qls/sqs';
import { TestResources, startBuiltApi, uniqueName, waitFor } from '@qls/testing';

/**
 * One trace from the ingest request to the alert's notification: the point
 * carries the request's trace (metrics-ingest stamps it, tested there); the
 * window keeps it; the alert's outbox row, the `alerts` record, the notifier's
 * call and the notification API's own outbox row all continue it.
 */
describe('tracing an alert', () => {
  const resources = new TestResources();
  const kafka = new Kafka({ clientId: uniqueName('trace-test'), brokers: resources.env.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  const telemetry = startTestTelemetry({ serviceName: 'metrics-alerter' });
  const stops: (() => Promise<unknown>)[] = [];
  let api: ChildProcess | undefined;
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    api?.kill();
    await telemetry.shutdown();
    await resources.cleanup();
  });

  it('continues the trace of the breaching point through the outbox, the alerts topic and the notifier to the notification', async () => {
    const { pool, schema } = await resources.postgres();
    await migrate(pool, readMigrations(join(__dirname, '../../../../infra/migrations')));
    const [topic, alertsTopic, sideTopic] = await Promise.all([
      resources.topic('trace-in'),
      resources.topic('trace-alerts'),
      resources.topic('trace-side'),
    ]);
    const { url: queueUrl } = await resources.queue('trace-notifications');
    const notificationApi = await startBuiltApi('notification-api', {
      databaseUrl: resources.env.DATABASE_URL,
      schema,
      issuer: 'alerter',
      audience: 'notifications',
      env: {
        NOTIFICATIONS_QUEUE: queueUrl.slice(queueUrl.lastIndexOf('/') + 1),
      },
    });
    api = notificationApi.process;
    const { url: apiUrl, keys } = notificationApi;

    const publisher = new KafkaPublisher(kafka);
    stops.push(() => publisher.close());
    const relay = new OutboxRelay({
      pool,
      publishers: { kafka: publisher, sqs: new SqsPublisher(resources.sqs) },
      sqsQueueUrl: (name) => queueUrlOf(resources.sqs, name),
      pollIntervalMs: 200,
    });
    await relay.start();
    stops.push(() => relay.stop());
    const notifier = new AlertNotifier({
      notificationApiUrl: apiUrl,
      recipientUserId: 'on-call',
      channel: 'push',
      signingKey: JSON.stringify({ ...(await exportJWK(keys.privateKey)), alg: 'ES256' }),
      issuer: 'alerter',
      audience: 'notifications',
    });
    const consumer = new KafkaConsumer(kafka, {
      groupId: uniqueName('alert-notifier'),
      topics: [alertsTopic],
      deadLetterTopic: sideTopic,
      deadLetterPublisher: publisher,
      fromBeginning: true,
    });
    await consumer.start(async (message) => void (await notifier.handle(message)));
    stops.push(() => consumer.stop());
    const runner = new AlerterRunner({
      kafka,
      pool,
      groupId: uniqueName('alerting'),
      topic,
      alertsTopic,
      lateTopic: sideTopic,
      deadLetterTopic: sideTopic,
      alerter: {
        outOfOrdernessMs: 0,
        allowedLatenessMs: 0,
        idleTimeoutMs: Number.POSITIVE_INFINITY,
        rules: [
          { kind: 'threshold', name: 'slow', metric: 'latency_ms', window: { sizeMs: 1_000 }, aggregation: 'max', op: '>', threshold: 900 },
        ],
      },
      publisher,
      checkpointIntervalMs: 50,
      fromBeginning: true,
    });
    await runner.start();
    stops.push(() => runner.stop());

    // The ingest request: its span is active while the point is produced.
    const at = Date.UTC(2026, 0, 5);
    const point = (value: number, timestamp: number) => ({
      key: 'checkout',
      body: encodeMetricPoint({ serviceId: 'checkout', name: 'latency_ms', value, timestamp, labels: {} }),
    });
    const traceId = await trace.getTracer('test').startActiveSpan('POST /metrics', async (span) => {
      await publisher.publish(topic, [point(950, at)]);
      span.end();
      return span.spanContext().traceId;
    });
    // Another request's point moves the watermark past the window (and, a window later, resolves the alert: no data).
    await publisher.publish(topic, [point(10, at + 5_000)]);

    const notificationTrace = async () =>
      (
        await pool.query<{ traceparent: string }>(
          `SELECT o.headers->>'traceparent' AS traceparent FROM outbox o JOIN notifications n ON o.aggregate_id = n.id::text
            WHERE n.user_id = 'on-call' AND n.template = 'alert-firing'`,
        )
      ).rows[0]?.traceparent;
    await waitFor(async () => (await notificationTrace()) !== undefined, { timeoutMs: 30_000, description: 'the alert’s notification' });

    // Hop by hop, so a break says where it is.
    const traceOf = (traceparent: string | undefined) => traceparent?.split('-')[1];
    const { rows: alertRows } = await pool.query<{ traceparent: string }>(
      `SELECT headers->>'traceparent' AS traceparent FROM outbox WHERE destination = $1 AND payload->>'status' = 'firing'`,
      [`kafka:${alertsTopic}`],
    );
    expect(alertRows.map((row) => traceOf(row.traceparent))).toEqual([traceId]);
    expect(traceOf(await notificationTrace())).toBe(traceId);
    const spans = telemetry.spans().filter((s) => s.spanContext().traceId === traceId);
    expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining(['POST /metrics', 'alert firing', `process ${alertsTopic}`]));
  }, 120_000);
});
