import { z } from 'zod';
import { positiveInt } from '@qls/config';
import { METRICS_RAW_TOPIC } from '@qls/metrics-contracts';
import type { MetricsStorageConsumerOptions } from './storage.consumer';

const bool = z.enum(['true', 'false'], { error: 'expected true or false' }).transform((value) => value === 'true');

/** Storage settings from the environment (read by libs/platform/config's loadConfig); every one has a default. */
export const metricsStorageEnv = {
  /** Topic the points are read from. */
  METRICS_RAW_TOPIC: z.string().min(1).default(METRICS_RAW_TOPIC),
  /** The storage's consumer group. */
  STORAGE_GROUP_ID: z.string().min(1).default('storage'),
  /** Where records that cannot be stored go, with the reason in headers. */
  STORAGE_DEAD_LETTER_TOPIC: z.string().min(1).default('metrics-dead-letter'),
  /** Most points per write statement. */
  STORAGE_MAX_BATCH_POINTS: positiveInt.max(50_000).default(5_000),
  /** Partitions written at once by one replica (each needs a Postgres connection). */
  STORAGE_PARTITION_CONCURRENCY: positiveInt.max(64).default(3),
  /** Backoff of a failed write, first and longest delay (ms). */
  STORAGE_RETRY_INITIAL_MS: positiveInt.default(200),
  STORAGE_RETRY_MAX_MS: positiveInt.default(30_000),
  /** statement_timeout of the storage's connections (ms); keep it under the group's session timeout (30 s). */
  STORAGE_WRITE_TIMEOUT_MS: positiveInt.default(10_000),
  /** Where a new group starts: true stores everything the topic still retains. */
  STORAGE_FROM_BEGINNING: bool.default(true),
  /** Day partitions of metric_points kept ready ahead of today (UTC). */
  STORAGE_PARTITION_DAYS_AHEAD: positiveInt.max(366).default(7),
  /** Days of points kept: older day partitions of metric_points are dropped (checked hourly). */
  STORAGE_RETENTION_DAYS: positiveInt.max(3_650).default(30),
  /** Most points one GET /series answers. */
  SERIES_MAX_POINTS: positiveInt.max(100_000).default(10_000),
};

type MetricsStorageEnv = z.infer<z.ZodObject<typeof metricsStorageEnv>>;

/** The storage consumer's group, topics, batches and retries from the environment. */
export function storageConsumerSettings(env: MetricsStorageEnv) {
  return {
    groupId: env.STORAGE_GROUP_ID,
    topic: env.METRICS_RAW_TOPIC,
    deadLetterTopic: env.STORAGE_DEAD_LETTER_TOPIC,
    maxBatchPoints: env.STORAGE_MAX_BATCH_POINTS,
    partitionsConsumedConcurrently: env.STORAGE_PARTITION_CONCURRENCY,
    retry: { initialMs: env.STORAGE_RETRY_INITIAL_MS, maxMs: env.STORAGE_RETRY_MAX_MS },
    fromBeginning: env.STORAGE_FROM_BEGINNING,
  } satisfies Partial<MetricsStorageConsumerOptions>;
}

/** How many day partitions of metric_points are kept ahead and behind. */
export function partitionSettings(env: MetricsStorageEnv): { readonly daysAhead: number; readonly retentionDays: number } {
  return { daysAhead: env.STORAGE_PARTITION_DAYS_AHEAD, retentionDays: env.STORAGE_RETENTION_DAYS };
}
