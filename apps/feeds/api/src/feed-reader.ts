import type { DynamicModule } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Pool } from 'pg';
import { FeedCache, FeedRebuilder, FollowGraph, rankings } from '@qls/feed-timeline';
import { type FeedApiLimits, type FeedApiMetrics, FeedReader, feedApiLimits } from '@qls/feed-service';
import { BackgroundModule, type Logger } from '@qls/observability';
import { redisToken } from '@qls/redis';
import type { Config } from './config';
import { FEED_READER } from './tokens';

/** The feed cache's Redis client (`RedisModule.forRoot({ name })`): its own timeout, longer than the rate limiter's. */
export const FEED_CACHE = 'feed-cache';

/**
 * The API's limits with the configured page sizes.
 * @throws RangeError when FEED_PAGE_SIZE exceeds FEED_MAX_PAGE_SIZE
 */
export function pageLimits(config: Config): FeedApiLimits {
  if (config.FEED_PAGE_SIZE > config.FEED_MAX_PAGE_SIZE) {
    throw new RangeError(`FEED_PAGE_SIZE (${config.FEED_PAGE_SIZE}) must not exceed FEED_MAX_PAGE_SIZE (${config.FEED_MAX_PAGE_SIZE})`);
  }
  return { ...feedApiLimits, defaultPageSize: config.FEED_PAGE_SIZE, maxPageSize: config.FEED_MAX_PAGE_SIZE };
}

export interface FeedReaderDeps {
  readonly limits: FeedApiLimits;
  readonly metrics: FeedApiMetrics;
  readonly logger: Logger;
}

/**
 * `GET /feed`'s reader (FEED_READER) on the app's pool and the feed cache: the
 * feed from the cache, rebuilt from Postgres when it is missing (inline within
 * FEED_INLINE_REBUILD_BUDGET_MS, else in the background while the caller is
 * told it is regenerating). On shutdown the rebuilds still running finish
 * before the connections close.
 */
export function feedReaderModule(config: Config, { limits, metrics, logger }: FeedReaderDeps): DynamicModule {
  const create = (pool: Pool, redis: Redis): FeedReader => {
    const cache = new FeedCache(redis, { feedLength: config.FEED_LENGTH, recentLength: config.FEED_RECENT_LENGTH });
    const rebuilder = new FeedRebuilder(pool, cache, {
      celebrityThreshold: config.FEED_CELEBRITY_THRESHOLD,
      ranking: rankings[config.FEED_RANKING],
    });
    return new FeedReader(
      { pool, cache, graph: new FollowGraph(pool), rebuilder, metrics, logger },
      {
        celebrityThreshold: config.FEED_CELEBRITY_THRESHOLD,
        activeDays: config.FEED_ACTIVE_DAYS,
        touchIntervalSeconds: config.FEED_ACTIVITY_TOUCH_SECONDS,
        regeneratingTtlSeconds: config.FEED_REGENERATING_TTL_SECONDS,
        inlineRebuildBudgetMs: config.FEED_INLINE_REBUILD_BUDGET_MS,
        limits,
      },
    );
  };
  return BackgroundModule.run({
    providers: [{ provide: FEED_READER, inject: [Pool, redisToken(FEED_CACHE)], useFactory: create }],
    inject: [FEED_READER],
    useFactory: (reader) => ({ start: () => undefined, stop: () => reader.idle() }),
  });
}
