import { z } from 'zod';
import { positiveInt } from '@qls/config';
import { rankingNames } from '@qls/feed-timeline';
import { POSTS_TOPIC } from '@qls/feed-contracts';

/**
 * Feed settings of the API from the environment (read by libs/platform/config's
 * loadConfig); every one has a default. FEED_CELEBRITY_THRESHOLD,
 * FEED_ACTIVE_DAYS, FEED_LENGTH, FEED_RECENT_LENGTH and FEED_RANKING must have the values
 * the fan-out uses: the tier a followee is in decides whether their posts are
 * pushed or merged here.
 */
export const feedApiEnv = {
  /** Topic of the API's events (outbox destination). */
  POSTS_TOPIC: z.string().min(1).default(POSTS_TOPIC),
  /** Followees with at least this many followers are merged at read time (never pushed). */
  FEED_CELEBRITY_THRESHOLD: positiveInt.default(100_000),
  /** Users not seen for this many days are not pushed to; their feed is rebuilt on their first read. */
  FEED_ACTIVE_DAYS: positiveInt.default(30),
  /** Entries of a pushed feed / of an author's recent posts (FeedCache). */
  FEED_LENGTH: positiveInt.default(800),
  FEED_RECENT_LENGTH: positiveInt.default(200),
  /** How a regenerated feed is scored (libs/feeds/timeline rankings): the fan-out's. */
  FEED_RANKING: z.enum(rankingNames).default('recency'),
  /** last_active_at is written at most this often per user. */
  FEED_ACTIVITY_TOUCH_SECONDS: positiveInt.default(60),
  /** Lifetime of the regenerating flag: a rebuild that died is retried after it. */
  FEED_REGENERATING_TTL_SECONDS: positiveInt.default(60),
  /**
   * How long an inactive user's first GET /feed waits for their feed's rebuild
   * (ms) before it answers what is ready with `regenerating: true`. A rebuild
   * is two indexed queries and two Redis writes: a few ms for the many users
   * who follow few accounts. 0 never waits.
   */
  FEED_INLINE_REBUILD_BUDGET_MS: z.coerce.number({ error: 'expected a number' }).int('expected an integer').min(0).default(200),
  /** Page size of GET /feed without `limit`, and its maximum. */
  FEED_PAGE_SIZE: positiveInt.max(1_000).default(20),
  FEED_MAX_PAGE_SIZE: positiveInt.max(1_000).default(100),
};
