import type { Counter, Histogram, MetricsRegistry } from '@qls/observability';

/** The API's operations, as the `operation` label. */
export const feedApiOperations = [
  'create_user',
  'get_user',
  'follow',
  'unfollow',
  'create_post',
  'get_post',
  'delete_post',
  'read_feed',
  'search',
  'stats',
] as const;
export type FeedApiOperation = (typeof feedApiOperations)[number];

export interface FeedApiMetrics {
  /** Outcome: `ok`, `created`, `replayed`, or the error code (`FEED.VALIDATION_FAILED`, `AUTH.UNAUTHENTICATED`…). */
  readonly requests: Counter<'operation' | 'outcome'>;
  /** GET /feed, from the query parse to the hydrated page (successful reads). */
  readonly feedReadDuration: Histogram;
  /** Celebrities whose recent posts one feed read merged (fan-out on read). */
  readonly celebrityMerges: Histogram;
  /** Feed rebuilds of inactive users on first read: started, completed, failed. */
  readonly regenerations: Counter<'outcome'>;
  readonly regenerationDuration: Histogram;
  /** Requests let through unlimited because the rate limiter (Redis) failed. */
  readonly rateLimiterErrors: Counter;
}

export function createFeedApiMetrics(registry: MetricsRegistry): FeedApiMetrics {
  return {
    requests: registry.counter({
      name: 'feed_api_requests_total',
      help: 'Requests to the feed API by operation and outcome (error code on failure)',
      labelNames: ['operation', 'outcome'],
    }),
    feedReadDuration: registry.histogram({
      name: 'feed_read_duration_seconds',
      help: 'GET /feed latency in the app: activity, celebrities, one pipelined Redis merge, hydration',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    }),
    celebrityMerges: registry.histogram({
      name: 'feed_read_celebrity_merges',
      help: 'Followed celebrities whose recent posts were merged into one feed read',
      buckets: [0, 1, 2, 5, 10, 20, 50, 100, 500],
    }),
    regenerations: registry.counter({
      name: 'feed_regenerations_total',
      help: 'Feed rebuilds of inactive users on their first read, by outcome (started, completed, failed)',
      labelNames: ['outcome'],
    }),
    regenerationDuration: registry.histogram({
      name: 'feed_regeneration_duration_seconds',
      help: 'Duration of a completed feed rebuild of an inactive user',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    rateLimiterErrors: registry.counter({
      name: 'feed_api_rate_limiter_errors_total',
      help: 'Requests let through unlimited because the rate limiter (Redis) failed',
    }),
  };
}
