import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import {
  AnalyticsProjection,
  type IndexerMetrics,
  type IndexerProjectionName,
  PostsIndexConsumer,
  type PostsProjection,
  SearchProjection,
} from '@qls/feed-indexing';
import type { KafkaPublisher } from '@qls/kafka';
import { type BackgroundTask, type Logger, concurrentTasks } from '@qls/observability';
import type { Config } from './config';

/** Each projection's consumer group, its writer, and the table provisioning makes for it. */
const projections: Record<
  IndexerProjectionName,
  { readonly table: string; groupId(config: Config): string; create(pool: Pool): PostsProjection }
> = {
  search: { table: 'post_search', groupId: (config) => config.SEARCH_GROUP_ID, create: (pool) => new SearchProjection(pool) },
  analytics: { table: 'post_analytics', groupId: (config) => config.ANALYTICS_GROUP_ID, create: (pool) => new AnalyticsProjection(pool) },
};

/** The tables of the projections this process runs. */
export function projectionTables(config: Config): string[] {
  return config.FEED_INDEXER_PROJECTIONS.map((name) => projections[name].table);
}

export interface PostsIndexersDeps {
  readonly kafka: Kafka;
  readonly pool: Pool;
  readonly publisher: KafkaPublisher;
  readonly metrics: IndexerMetrics;
  readonly logger: Logger;
}

/**
 * The indexer's background task: one consumer group per projection (`search`,
 * `analytics`: each has its own offsets and lag, and neither waits for the
 * other nor for the fan-out), joined together at boot. On shutdown they leave
 * their groups together — the write in progress finishes and is committed —
 * before the connections close.
 */
export function postsIndexers(config: Config, { kafka, pool, publisher, metrics, logger }: PostsIndexersDeps): BackgroundTask {
  return concurrentTasks(
    config.FEED_INDEXER_PROJECTIONS.map(
      (name) =>
        new PostsIndexConsumer({
          kafka,
          groupId: projections[name].groupId(config),
          topic: config.POSTS_TOPIC,
          projection: projections[name].create(pool),
          deadLetterTopic: config.FEED_INDEXER_DEAD_LETTER_TOPIC,
          deadLetterPublisher: publisher,
          metrics,
          logger,
          maxBatchRecords: config.FEED_INDEXER_MAX_BATCH_RECORDS,
          partitionsConsumedConcurrently: config.FEED_INDEXER_PARTITION_CONCURRENCY,
          retry: { initialMs: config.FEED_INDEXER_RETRY_INITIAL_MS, maxMs: config.FEED_INDEXER_RETRY_MAX_MS },
          fromBeginning: config.FEED_INDEXER_FROM_BEGINNING,
        }),
    ),
  );
}
