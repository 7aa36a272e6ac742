import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { FanOutWorker, createFanOutMetrics, fanOutStores } from '@qls/feed-distribution';
import type { BackgroundTask, Logger, MetricsRegistry } from '@qls/observability';
import { queueUrlOf } from '@qls/sqs';
import { type Config, LONG_POLL_SECONDS } from './config';

export interface FanOutTasksDeps {
  readonly pool: Pool;
  readonly redis: Redis;
  readonly sqs: SQSClient;
  readonly registry: MetricsRegistry;
  readonly logger: Logger;
  /** Long poll of each receive. @defaultValue LONG_POLL_SECONDS (tests shorten it to stop quickly) */
  readonly waitTimeSeconds?: number | undefined;
}

/**
 * The worker's background task: a competing consumer of SQS `fan-out-tasks`,
 * started once the app is up, with the queue's depth in gauges every 5 s. On
 * SIGTERM it stops receiving and finishes the tasks in flight (the
 * connections close after it, in the platform modules).
 */
export function fanOutTasks(config: Config, { pool, redis, sqs, registry, logger, waitTimeSeconds }: FanOutTasksDeps): BackgroundTask {
  const metrics = createFanOutMetrics(registry);
  const queueVisible = registry.gauge({ name: 'feed_fanout_queue_visible', help: 'Fan-out tasks waiting in SQS (approximate)' });
  const queueInFlight = registry.gauge({
    name: 'feed_fanout_queue_in_flight',
    help: 'Fan-out tasks received and not yet deleted (approximate)',
  });
  const { applier } = fanOutStores(config, { pool, redis, metrics });
  let worker: FanOutWorker | undefined;
  let depthTimer: NodeJS.Timeout | undefined;
  return {
    async start() {
      const [queueUrl, deadLetterQueueUrl] = await Promise.all([
        queueUrlOf(sqs, config.FAN_OUT_TASKS_QUEUE),
        queueUrlOf(sqs, config.FAN_OUT_TASKS_DLQ),
      ]);
      worker = new FanOutWorker({
        sqs,
        queueUrl,
        deadLetterQueueUrl,
        applier,
        metrics,
        logger,
        concurrency: config.FANOUT_WORKER_CONCURRENCY,
        waitTimeSeconds: waitTimeSeconds ?? LONG_POLL_SECONDS,
        visibilityTimeoutSeconds: config.FANOUT_VISIBILITY_TIMEOUT_SECONDS,
        maxProcessingSeconds: config.FANOUT_MAX_PROCESSING_SECONDS,
      });
      await worker.start();
      const refreshDepth = async () => {
        const depth = await worker?.depth().catch(() => undefined);
        if (!depth) return;
        queueVisible.set(depth.visible);
        queueInFlight.set(depth.inFlight);
      };
      depthTimer = setInterval(() => void refreshDepth(), 5_000);
      await refreshDepth();
      logger.info({ queueUrl, concurrency: config.FANOUT_WORKER_CONCURRENCY }, 'applying fan-out tasks');
    },
    async stop() {
      clearInterval(depthTimer);
      await worker?.stop();
    },
  };
}
