import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { FeedCache, type FeedRebuilder, type FollowGraph, InvalidCursorError } from '@qls/feed-timeline';
import { FeedReader, FeedUnavailableError, FeedValidationError, createFeedApiMetrics } from '@qls/feed-service';
import { toHttpError } from '@qls/http-api';
import { MetricsRegistry } from '@qls/observability';
import { statusByCode } from './http-errors';

/** A reader whose Postgres knows the caller (active, no celebrities followed) and whose feed cache is `cache`. */
function readerOn(cache: FeedCache): FeedReader {
  const pool = { query: async () => ({ rows: [{ inactive: false }] }) } as unknown as Pool;
  const graph = { celebritiesFollowedBy: async () => [] } as unknown as FollowGraph;
  return new FeedReader(
    {
      pool,
      cache,
      graph,
      rebuilder: {} as FeedRebuilder,
      metrics: createFeedApiMetrics(new MetricsRegistry({ service: 'test', defaultMetrics: false })),
    },
    { celebrityThreshold: 3, activeDays: 30, touchIntervalSeconds: 60, regeneratingTtlSeconds: 30 },
  );
}

/** A cache whose flag reads succeed and whose feed read fails with `error`. */
function cacheFailingReadsWith(error: Error): FeedCache {
  return {
    isRegenerating: async () => false,
    read: async () => {
      throw error;
    },
  } as unknown as FeedCache;
}

describe('GET /feed while the feed cache is unavailable', () => {
  it('fails the read with FeedUnavailableError when Redis is not connected, keeping the cause', async () => {
    const redis = new Redis({ lazyConnect: true });
    redis.disconnect(); // never connected: every command is refused with "Connection is closed."

    const failure = await readerOn(new FeedCache(redis))
      .read({ userId: 'ada' }, {})
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(FeedUnavailableError);
    expect((failure as FeedUnavailableError).cause).toEqual(new Error('Connection is closed.'));
  });

  it('fails the read with FeedUnavailableError when the merge of the feed times out, but still answers a forged cursor with 400', async () => {
    const timedOut = new Error('Command timed out');
    await expect(readerOn(cacheFailingReadsWith(timedOut)).read({ userId: 'ada' }, {})).rejects.toEqual(
      expect.objectContaining({ code: 'FEED.UNAVAILABLE', cause: timedOut }),
    );
    await expect(
      readerOn(cacheFailingReadsWith(new InvalidCursorError('not a cursor'))).read({ userId: 'ada' }, { cursor: 'bm90LWEtY3Vyc29y' }),
    ).rejects.toEqual(expect.objectContaining({ constructor: FeedValidationError, field: 'cursor' }));
  });

  it('is answered 503 with FEED.UNAVAILABLE, a reason and Retry-After, saying nothing of the cause', () => {
    expect(toHttpError(new FeedUnavailableError(new Error('connect ECONNREFUSED 10.0.0.7:6379')), statusByCode)).toEqual({
      status: 503,
      headers: { 'Retry-After': '1' },
      body: { error: { code: 'FEED.UNAVAILABLE', message: 'the feed cache is unavailable; retry later' } },
    });
  });
});
