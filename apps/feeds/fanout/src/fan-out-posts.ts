import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { rankings } from '@qls/feed-timeline';
import { FanOutConsumer, FanOutPlanner, FeedFanOut, createFanOutMetrics, fanOutStores } from '@qls/feed-distribution';
import type { KafkaPublisher } from '@qls/kafka';
import type { BackgroundTask, Logger, MetricsRegistry } from '@qls/observability';
import { SqsPublisher, queueUrlOf } from '@qls/sqs';
import type { Config } from './config';

export interface FanOutPostsDeps {
  readonly pool: Pool;
  readonly redis: Redis;
  readonly sqs: SQSClient;
  readonly kafka: Kafka;
  readonly publisher: KafkaPublisher;
  readonly registry: MetricsRegistry;
  readonly logger: Logger;
}

/**
 * The fan-out's background task: joins the `fan-out` group on `posts` once
 * the app is up (small authors' posts written into their followers' feeds
 * here, larger ones split into SQS tasks); on SIGTERM leaves it — the chunk
 * in progress finishes or is redelivered — before the connections close.
 */
export function fanOutPosts(config: Config, { pool, redis, sqs, kafka, publisher, registry, logger }: FanOutPostsDeps): BackgroundTask {
  const metrics = createFanOutMetrics(registry);
  const { graph, cache, progress, applier } = fanOutStores(config, { pool, redis, metrics });
  let consumer: FanOutConsumer | undefined;
  return {
    async start() {
      const queueUrl = await queueUrlOf(sqs, config.FAN_OUT_TASKS_QUEUE);
      const planner = new FanOutPlanner({
        graph,
        publisher: new SqsPublisher(sqs),
        queueUrl,
        taskSize: config.FANOUT_TASK_SIZE,
        progress,
        metrics,
      });
      const fanOut = new FeedFanOut({
        graph,
        cache,
        planner,
        applier,
        pool,
        thresholds: { directBelow: config.FANOUT_DIRECT_BELOW, celebrityAt: config.FEED_CELEBRITY_THRESHOLD },
        ranking: rankings[config.FEED_RANKING],
        chunkSize: config.FANOUT_TASK_SIZE,
        ...(config.FANOUT_ACTIVE_HOURS > 0 ? { activePeriodMs: config.FANOUT_ACTIVE_HOURS * 3_600_000 } : {}),
        metrics,
      });
      consumer = new FanOutConsumer({
        kafka,
        groupId: config.FANOUT_GROUP_ID,
        topic: config.POSTS_TOPIC,
        deadLetterTopic: config.FANOUT_DEAD_LETTER_TOPIC,
        deadLetterPublisher: publisher,
        fanOut,
        metrics,
        logger,
        partitionsConsumedConcurrently: config.FANOUT_PARTITION_CONCURRENCY,
        keyConcurrency: config.FANOUT_KEY_CONCURRENCY,
        fromBeginning: config.FANOUT_FROM_BEGINNING,
      });
      await consumer.start();
      logger.info({ topic: config.POSTS_TOPIC, groupId: config.FANOUT_GROUP_ID, queueUrl }, 'fanning out posts');
    },
    async stop() {
      await consumer?.stop();
    },
  };
}
