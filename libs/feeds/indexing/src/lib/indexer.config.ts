import { z } from 'zod';
import { positiveInt } from '@qls/config';
import { POSTS_TOPIC } from '@qls/feed-contracts';

const bool = z.enum(['true', 'false'], { error: 'expected true or false' }).transform((value) => value === 'true');

/** The projections an indexer process can run, each as its own consumer group. */
export const indexerProjections = ['search', 'analytics'] as const;
export type IndexerProjectionName = (typeof indexerProjections)[number];

/** Indexer settings from the environment (read by libs/platform/config's loadConfig); every one has a default. */
export const feedIndexerEnv = {
  /** The log the projections are built from. */
  POSTS_TOPIC: z.string().min(1).default(POSTS_TOPIC),
  /** Which projections this process runs (comma-separated): both by default; one per deployment to scale them apart. */
  FEED_INDEXER_PROJECTIONS: z
    .string()
    .default(indexerProjections.join(','))
    .transform((raw) => [...new Set(raw.split(',').map((s) => s.trim()))])
    .pipe(z.array(z.enum(indexerProjections, { error: `expected a comma-separated list of ${indexerProjections.join(', ')}` })).min(1)),
  /** Consumer group of the full-text index (post_search). */
  SEARCH_GROUP_ID: z.string().min(1).default('search'),
  /** Consumer group of the analytics projection (post_analytics). */
  ANALYTICS_GROUP_ID: z.string().min(1).default('analytics'),
  /** Where unreadable records go, with the reason in headers. */
  FEED_INDEXER_DEAD_LETTER_TOPIC: z.string().min(1).default('posts-dead-letter'),
  /** Most records per projection write. */
  FEED_INDEXER_MAX_BATCH_RECORDS: positiveInt.max(50_000).default(2_000),
  /** Partitions written at once by one consumer (each needs a Postgres connection). */
  FEED_INDEXER_PARTITION_CONCURRENCY: positiveInt.max(64).default(3),
  /** Backoff of a failed write, first and longest delay (ms). */
  FEED_INDEXER_RETRY_INITIAL_MS: positiveInt.default(200),
  FEED_INDEXER_RETRY_MAX_MS: positiveInt.default(30_000),
  /** statement_timeout of the indexer's connections (ms); keep it under the group's session timeout (30 s). */
  FEED_INDEXER_WRITE_TIMEOUT_MS: positiveInt.default(10_000),
  /** Where a new group starts: true indexes everything the topic still retains. */
  FEED_INDEXER_FROM_BEGINNING: bool.default(true),
};
