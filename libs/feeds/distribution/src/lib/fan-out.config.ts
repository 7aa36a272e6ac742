import { z } from 'zod';
import { positiveInt } from '@qls/config';
import { FAN_OUT_TASKS_QUEUE, POSTS_TOPIC } from '@qls/feed-contracts';
import { feedEnv, rankingNames } from '@qls/feed-timeline';

const nonNegativeInt = z.coerce.number({ error: 'expected a number' }).int('expected an integer').nonnegative();
const bool = z.enum(['true', 'false'], { error: 'expected true or false' }).transform((value) => value === 'true');

/** What the fan-out consumer and its workers both read (with FEED_* of @qls/feed-timeline). */
export const fanOutEnv = {
  ...feedEnv,
  /** Authors with fewer followers are fanned out by the consumer itself; from here to FEED_CELEBRITY_THRESHOLD, by SQS tasks. */
  FANOUT_DIRECT_BELOW: nonNegativeInt.default(1_000),
  /** Followers per SQS task (and per direct chunk). */
  FANOUT_TASK_SIZE: positiveInt.max(5_000).default(1_000),
  /** Only followers seen within this many hours are pushed to (0: every follower). */
  FANOUT_ACTIVE_HOURS: nonNegativeInt.default(720),
  /** How posts are scored (libs/feeds/timeline rankings); changing it means rebuilding the feeds (rebuild-cli). */
  FEED_RANKING: z.enum(rankingNames).default('recency'),
  FAN_OUT_TASKS_QUEUE: z.string().min(1).default(FAN_OUT_TASKS_QUEUE),
  FAN_OUT_TASKS_DLQ: z.string().min(1).default(`${FAN_OUT_TASKS_QUEUE}-dlq`),
};

/** The fan-out consumer (apps/feeds/fanout). */
export const fanOutConsumerEnv = {
  ...fanOutEnv,
  POSTS_TOPIC: z.string().min(1).default(POSTS_TOPIC),
  FANOUT_GROUP_ID: z.string().min(1).default('fan-out'),
  /** Where unreadable events go, with the reason in headers. */
  FANOUT_DEAD_LETTER_TOPIC: z.string().min(1).default('posts-dead-letter'),
  FANOUT_PARTITION_CONCURRENCY: positiveInt.max(64).default(3),
  /** Authors of one batch handled at once (each author's events in order). */
  FANOUT_KEY_CONCURRENCY: positiveInt.max(256).default(16),
  FANOUT_FROM_BEGINNING: bool.default(true),
};

/** The fan-out workers (apps/feeds/fanout-worker). */
export const fanOutWorkerEnv = {
  ...fanOutEnv,
  FANOUT_WORKER_CONCURRENCY: positiveInt.max(256).default(8),
  /** Visibility timeout kept by the heartbeat while a task runs (the queue's is 60 s). */
  FANOUT_VISIBILITY_TIMEOUT_SECONDS: positiveInt.max(43_200).default(60),
  FANOUT_MAX_PROCESSING_SECONDS: positiveInt.max(43_200).default(300),
};

/** Refinement shared by both apps' schemas: the tiers must be in order. */
export function thresholdsInOrder(config: { FANOUT_DIRECT_BELOW: number; FEED_CELEBRITY_THRESHOLD: number }): boolean {
  return config.FANOUT_DIRECT_BELOW <= config.FEED_CELEBRITY_THRESHOLD;
}

export const thresholdsMessage = { path: ['FANOUT_DIRECT_BELOW'], message: 'must not exceed FEED_CELEBRITY_THRESHOLD' };
