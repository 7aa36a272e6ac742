import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { KafkaConsumer, type KafkaPublisher } from '@qls/kafka';
import { AlertNotifier, AlerterRunner, type AlerterMetrics } from '@qls/metrics-alerting';
import type { BackgroundTask, Logger, ReadinessChecks } from '@qls/observability';
import type { Config } from './config';

export interface AlerterDeps {
  readonly pool: Pool;
  readonly kafka: Kafka;
  readonly publisher: KafkaPublisher;
  readonly readiness: ReadinessChecks;
  readonly metrics: AlerterMetrics;
  readonly logger: Logger;
}

/**
 * The alerter's background tasks: the windowed alerter as a member of the
 * alerting group (not ready after consecutive failed checkpoints; on SIGTERM
 * it checkpoints, then leaves the group) and, when enabled, the notifier
 * (started after it, stopped before it). The connections close after them,
 * in the platform modules.
 */
export function alerterTasks(config: Config, { pool, kafka, publisher, readiness, metrics, logger }: AlerterDeps): BackgroundTask[] {
  const runner = new AlerterRunner({
    kafka,
    pool,
    groupId: config.ALERTING_GROUP_ID,
    topic: config.METRICS_TOPIC,
    lateTopic: config.METRICS_LATE_TOPIC,
    deadLetterTopic: config.METRICS_DEAD_LETTER_TOPIC,
    alertsTopic: config.ALERTS_TOPIC,
    alerter: {
      rules: config.ALERT_RULES_FILE,
      outOfOrdernessMs: config.WINDOW_OUT_OF_ORDERNESS_MS,
      allowedLatenessMs: config.WINDOW_ALLOWED_LATENESS_MS,
      idleTimeoutMs: config.WINDOW_IDLE_PARTITION_MS,
    },
    publisher,
    checkpointIntervalMs: config.CHECKPOINT_INTERVAL_MS,
    fromBeginning: config.ALERTING_FROM_BEGINNING,
    savepointIntervalMs: config.SAVEPOINT_INTERVAL_MS,
    savepointRetentionMs: config.SAVEPOINT_RETENTION_HOURS * 3_600_000,
    metrics,
    logger,
  });
  readiness.add(runner.readiness());
  return config.ALERT_NOTIFIER_ENABLED ? [runner, alertNotifier(config, kafka, publisher, logger)] : [runner];
}

/** Alert transitions on ALERTS_TOPIC as notifications through the notification API (group ALERT_NOTIFIER_GROUP_ID). */
function alertNotifier(config: Config, kafka: Kafka, publisher: KafkaPublisher, logger: Logger): BackgroundTask {
  const notifier = new AlertNotifier({
    notificationApiUrl: config.NOTIFICATION_API_URL as string,
    recipientUserId: config.ALERT_RECIPIENT_USER_ID,
    channel: config.ALERT_NOTIFY_CHANNEL,
    signingKey: config.ALERT_NOTIFIER_SIGNING_KEY as string,
    issuer: config.AUTH_JWT_ISSUER as string,
    audience: config.AUTH_JWT_AUDIENCE as string,
  });
  const consumer = new KafkaConsumer(kafka, {
    groupId: config.ALERT_NOTIFIER_GROUP_ID,
    topics: [config.ALERTS_TOPIC],
    deadLetterTopic: config.METRICS_DEAD_LETTER_TOPIC,
    deadLetterPublisher: publisher,
    fromBeginning: true,
    logger,
  });
  return {
    start: () =>
      consumer.start(async (message) => {
        await notifier.handle(message);
      }),
    stop: () => consumer.stop(),
  };
}
