import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import {
  BreakerProvider,
  LocalProvider,
  NotificationHandler,
  NotificationReconciler,
  SendGuard,
  channels,
  type NotificationWorkerMetrics,
} from '@qls/notification-delivery';
import type { BackgroundTask, Logger } from '@qls/observability';
import { SqsConsumer, queueDepth, queueUrlOf, watchQueueDepth } from '@qls/sqs';
import { type Config, LONG_POLL_SECONDS } from './config';

export interface NotificationWorkerDeps {
  readonly pool: Pool;
  readonly redis: Redis;
  readonly sqs: SQSClient;
  readonly metrics: NotificationWorkerMetrics;
  readonly logger: Logger;
}

/**
 * The worker's background task: consumes the notifications queue once the app
 * is up; on SIGTERM stops receiving and finishes in-flight sends (the
 * connections close after it, in the platform modules).
 */
export function notificationWorker(config: Config, { pool, redis, sqs, metrics, logger }: NotificationWorkerDeps): BackgroundTask {
  const circuitValue = { closed: 0, 'half-open': 1, open: 2 } as const;
  const providers = new Map(
    channels.map((channel) => {
      const provider = new BreakerProvider(new LocalProvider(channel, pool, config.LOCAL_PROVIDER_FAULTS[channel] ?? {}), {
        onStateChange: (name, state) => {
          metrics.circuitState.set({ channel: name }, circuitValue[state]);
          logger.warn({ channel: name, state }, 'provider circuit changed state');
        },
      });
      metrics.circuitState.set({ channel }, 0);
      return [channel, provider] as const;
    }),
  );
  const guard = new SendGuard(pool, redis, { leaseMs: config.WORKER_MAX_PROCESSING_SECONDS * 1000 });
  const handler = new NotificationHandler(guard, providers, { maxAttempts: config.NOTIFICATIONS_MAX_ATTEMPTS, metrics });
  let consumer: SqsConsumer | undefined;
  let reconciler: NotificationReconciler | undefined;
  let stopDepth: (() => void) | undefined;
  return {
    async start() {
      const [queueUrl, deadLetterQueueUrl] = await Promise.all([
        queueUrlOf(sqs, config.NOTIFICATIONS_QUEUE),
        queueUrlOf(sqs, config.NOTIFICATIONS_DLQ),
      ]);
      consumer = new SqsConsumer(sqs, {
        queueUrl,
        deadLetterQueueUrl,
        concurrency: config.WORKER_CONCURRENCY,
        receivers: config.WORKER_RECEIVERS,
        waitTimeSeconds: LONG_POLL_SECONDS,
        visibilityTimeoutSeconds: config.WORKER_VISIBILITY_TIMEOUT_SECONDS,
        maxProcessingSeconds: config.WORKER_MAX_PROCESSING_SECONDS,
        maxReceiveCount: config.NOTIFICATIONS_MAX_RECEIVES,
        onDeadLettered: handler.deadLettered,
        logger,
      });
      reconciler = new NotificationReconciler(pool, sqs, { queueUrl, deadLetterQueueUrl, metrics, logger });
      const queue = config.NOTIFICATIONS_QUEUE;
      await consumer.start(async (message) => {
        metrics.messageAge.set({ queue }, Math.max(0, (Date.now() - message.timestamp) / 1000));
        await handler.handle(message);
      });
      reconciler.start();
      stopDepth = await watchQueueDepth(
        () => queueDepth(sqs, queueUrl),
        (depth) => {
          metrics.queueVisible.set({ queue }, depth.visible);
          metrics.queueInFlight.set({ queue }, depth.inFlight);
        },
      );
      logger.info({ queueUrl, concurrency: config.WORKER_CONCURRENCY }, 'consuming notifications');
    },
    async stop() {
      stopDepth?.();
      await reconciler?.stop();
      await consumer?.stop();
      for (const provider of providers.values()) provider.shutdown();
    },
  };
}
