import { type ApiRequestMetrics, createApiRequestMetrics } from '@qls/http-api';
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

/** Requests' outcome: `ok`, `created`, `replayed`, or the error code (`FEED.VALIDATION_FAILED`, `AUTH.UNAUTHENTICATED`…). */
export interface FeedApiMetrics extends ApiRequestMetrics {
  /** GET /feed, from the query parse to the hydrated page (successful reads). */
  readonly feedReadDuration: Histogram;
  /** Celebrities whose recent posts one feed read merged (fan-out on read). */
  readonly celebrityMerges: Histogram;
  /** Feed rebuilds of inactive users on first read: started, completed, failed. */
  readonly regenerations: Counter<'outcome'>;
  readonly regenerationDuration: Histogram;
}

export function createFeedApiMetrics(registry: MetricsRegistry): FeedApiMetrics {
  return {
    ...createApiRequestMetrics(registry, {
      api: 'the feed API',
      requests: 'feed_api_requests_total',
      rateLimiterErrors: 'feed_api_rate_limiter_errors_total',
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
  };
}
