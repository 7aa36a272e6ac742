import { positiveInt } from '@qls/config';

/**
 * Feed settings every feed service reads the same way (feed-api, feed-fanout,
 * feed-fanout-worker): the cache lengths and the celebrity threshold must agree
 * between the writers and the read-time merge.
 */
export const feedEnv = {
  /** Entries a user's pushed feed keeps. */
  FEED_LENGTH: positiveInt.max(10_000).default(800),
  /** Entries an author's recent-posts set keeps (read-time merge, follow backfill). */
  FEED_RECENT_LENGTH: positiveInt.max(10_000).default(200),
  /** Authors with at least this many followers are not pushed: their recent posts are merged at read time. */
  FEED_CELEBRITY_THRESHOLD: positiveInt.default(100_000),
};
