import type Redis from 'ioredis';
import { RedisKeys } from '@qls/feed-contracts';
import { type FeedCursor, type FeedEntry, decodeCursor, entriesOfReply, mergePage } from './feed-page';
import { RedisScript } from '@qls/redis';

export interface FeedCacheOptions {
  /** Entries a user's pushed feed keeps (the lowest-ranked are trimmed). @defaultValue 800 */
  readonly feedLength: number;
  /** Entries an author's recent-posts set keeps (read-time merge, follow backfill). @defaultValue 200 */
  readonly recentLength: number;
  /**
   * How long a deleted post's tombstone lives: an add (a late SQS task, a
   * redelivery, a replayed PostCreated) of a post deleted within this period
   * is ignored. Keep it above the fan-out queue's retention. @defaultValue 14 days
   */
  readonly tombstoneTtlSeconds: number;
  /** Users per script call. @defaultValue 1_000 */
  readonly chunkSize: number;
}

export const feedCacheDefaults: FeedCacheOptions = {
  feedLength: 800,
  recentLength: 200,
  tombstoneTtlSeconds: 14 * 86_400,
  chunkSize: 1_000,
};

/** Keys of libs/feeds/timeline beyond the shared layout (RedisKeys). */
export const FeedKeys = {
  ...RedisKeys,
  /** Set when a post is deleted (with a TTL): adds of that post are ignored from then on. */
  deleted: (postId: string) => `feed-deleted:{${postId}}`,
} as const;

/**
 * KEYS[1] = the post's tombstone, KEYS[2..] = sorted sets; ARGV = score, post id, length kept.
 * Adds the post to every set and trims each to its length (lowest scores go);
 * nothing when the post is tombstoned. ZADD of a present member with the same
 * score changes nothing, so applying it twice is applying it once.
 * Returns the number of sets the post was new in, or -1 when tombstoned.
 */
const ADD = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local score, member, keep = ARGV[1], ARGV[2], tonumber(ARGV[3])
local added = 0
for i = 2, #KEYS do
  local key = KEYS[i]
  added = added + redis.call('ZADD', key, score, member)
  if redis.call('ZCARD', key) > keep then
    redis.call('ZREMRANGEBYRANK', key, 0, -keep - 1)
  end
end
return added
`);

/**
 * KEYS[1] = the post's tombstone, KEYS[2..] = sorted sets; ARGV = post id, tombstone TTL (s).
 * Tombstones the post (so a late add cannot bring it back), then removes it from every set.
 * Returns the number of sets it was removed from.
 */
const REMOVE = new RedisScript(`
redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
local removed = 0
for i = 2, #KEYS do
  removed = removed + redis.call('ZREM', KEYS[i], ARGV[1])
end
return removed
`);

/**
 * The feed caches in Redis (layout: RedisKeys of @qls/feed-contracts):
 * pushed feeds `feed:{user}` and authors' recent posts `recent:{author}`, both
 * sorted sets scored by the ranking, trimmed; reads merge a user's pushed feed
 * with the recent posts of the celebrities they follow.
 *
 * Fan-out writes are one server-side script call (EVALSHA; the script is sent
 * once per connection, on NOSCRIPT) per chunk of ≤ 1,000 users: ZADD + trim of
 * every feed of the chunk in one round trip and one Redis command dispatch.
 * Every write is idempotent; a deleted post is tombstoned so that a late or
 * repeated add does not resurrect it.
 *
 * The scripts touch many users' keys at once, so they need a single Redis
 * (or a client-side split by cluster slot; not done here).
 */
export class FeedCache {
  private readonly options: FeedCacheOptions;

  constructor(
    private readonly redis: Redis,
    options: Partial<FeedCacheOptions> = {},
  ) {
    this.options = { ...feedCacheDefaults, ...options };
    for (const name of ['feedLength', 'recentLength', 'chunkSize', 'tombstoneTtlSeconds'] as const) {
      const value = this.options[name];
      if (!Number.isInteger(value) || value <= 0) throw new RangeError(`FeedCache ${name}: expected a positive integer, got ${value}`);
    }
  }

  get feedLength(): number {
    return this.options.feedLength;
  }

  get recentLength(): number {
    return this.options.recentLength;
  }

  /** One script call per chunk of ≤ chunkSize users: ZADD + trim per feed. Idempotent; ignored for a tombstoned post. */
  async addToFeeds(userIds: readonly string[], entry: FeedEntry): Promise<void> {
    await this.inChunks(userIds, (chunk) =>
      this.evalScript(
        ADD,
        [FeedKeys.deleted(entry.postId), ...chunk.map(FeedKeys.feed)],
        [entry.score, entry.postId, this.options.feedLength],
      ),
    );
  }

  /** Removes the post from each user's feed (one script call per chunk) and tombstones it. */
  async removeFromFeeds(userIds: readonly string[], postId: string): Promise<void> {
    await this.inChunks(userIds, (chunk) =>
      this.evalScript(REMOVE, [FeedKeys.deleted(postId), ...chunk.map(FeedKeys.feed)], [postId, this.options.tombstoneTtlSeconds]),
    );
  }

  /** Adds to the author's recent posts (trimmed to recentLength); ignored for a tombstoned post. */
  async addRecent(authorId: string, entry: FeedEntry): Promise<void> {
    await this.evalScript(
      ADD,
      [FeedKeys.deleted(entry.postId), FeedKeys.recent(authorId)],
      [entry.score, entry.postId, this.options.recentLength],
    );
  }

  /** Removes from the author's recent posts and tombstones the post. */
  async removeRecent(authorId: string, postId: string): Promise<void> {
    await this.evalScript(REMOVE, [FeedKeys.deleted(postId), FeedKeys.recent(authorId)], [postId, this.options.tombstoneTtlSeconds]);
  }

  /** The author's recent posts, best-ranked first. */
  async recent(authorId: string, limit: number): Promise<FeedEntry[]> {
    if (limit <= 0) return [];
    return entriesOfReply(await this.redis.zrevrange(FeedKeys.recent(authorId), 0, limit - 1, 'WITHSCORES'));
  }

  /** The user's pushed feed alone (no merge), best-ranked first. */
  async pushed(userId: string, limit = this.options.feedLength): Promise<FeedEntry[]> {
    if (limit <= 0) return [];
    return entriesOfReply(await this.redis.zrevrange(FeedKeys.feed(userId), 0, limit - 1, 'WITHSCORES'));
  }

  /** Adds entries to one user's feed (follow backfill), trimmed. Not tombstone-checked: callers pass live posts. */
  async addEntries(userId: string, entries: readonly FeedEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const key = FeedKeys.feed(userId);
    throwFirstError(
      await this.redis
        .multi()
        .zadd(key, ...entries.flatMap((e) => [e.score, e.postId]))
        .zremrangebyrank(key, 0, -this.options.feedLength - 1)
        .exec(),
    );
  }

  /** Adds entries to one user's feed, trimmed, skipping tombstoned posts (one script call per entry, all sent at once). */
  async addLiveEntries(userId: string, entries: readonly FeedEntry[]): Promise<void> {
    await Promise.all(
      entries.map((entry) =>
        this.evalScript(ADD, [FeedKeys.deleted(entry.postId), FeedKeys.feed(userId)], [entry.score, entry.postId, this.options.feedLength]),
      ),
    );
  }

  /** Removes posts from the author's recent posts without tombstoning them (a rebuild's reconcile). */
  async removeRecentEntries(authorId: string, postIds: readonly string[]): Promise<void> {
    if (postIds.length === 0) return;
    await this.redis.zrem(FeedKeys.recent(authorId), ...postIds);
  }

  /** Removes posts from one user's feed (unfollow). */
  async removeEntries(userId: string, postIds: readonly string[]): Promise<void> {
    if (postIds.length === 0) return;
    await this.redis.zrem(FeedKeys.feed(userId), ...postIds);
  }

  /** Replaces a user's feed with `entries` (rebuild / regenerate), trimmed to feedLength, atomically. */
  async replaceFeed(userId: string, entries: readonly FeedEntry[]): Promise<void> {
    await this.replace(FeedKeys.feed(userId), entries, this.options.feedLength);
  }

  /** Replaces an author's recent posts (rebuild), trimmed to recentLength, atomically. */
  async replaceRecent(authorId: string, entries: readonly FeedEntry[]): Promise<void> {
    await this.replace(FeedKeys.recent(authorId), entries, this.options.recentLength);
  }

  /**
   * The user's pushed feed merged with the recent posts of `pulledAuthorIds`
   * (the celebrities they follow), best-ranked first, one entry per post,
   * cursor-paginated by (score, postId). One round trip (pipeline) for all keys.
   * @throws InvalidCursorError for a cursor this library did not produce
   */
  async read(
    userId: string,
    options: { pulledAuthorIds: readonly string[]; limit: number; cursor?: string },
  ): Promise<{ items: FeedEntry[]; nextCursor: string | null }> {
    const { limit } = options;
    if (!Number.isInteger(limit) || limit <= 0) throw new RangeError(`read limit: expected a positive integer, got ${limit}`);
    const cursor: FeedCursor | undefined = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const keys = [FeedKeys.feed(userId), ...new Set(options.pulledAuthorIds)].map((id, i) => (i === 0 ? id : FeedKeys.recent(id)));
    const pipeline = this.redis.pipeline();
    for (const key of keys) {
      if (cursor === undefined) {
        pipeline.zrevrange(key, 0, limit, 'WITHSCORES');
      } else {
        // Strictly below the cursor's score (limit + 1 of them), and every entry at exactly
        // its score (sets are trimmed, so that is bounded); mergePage drops those at or before it.
        pipeline.zrevrangebyscore(key, `(${cursor.score}`, '-inf', 'WITHSCORES', 'LIMIT', 0, limit + 1);
        pipeline.zrevrangebyscore(key, cursor.score, cursor.score, 'WITHSCORES');
      }
    }
    const replies = (await pipeline.exec()) ?? [];
    const lists: FeedEntry[][] = [];
    for (const [error, reply] of replies) {
      if (error) throw error;
      lists.push(entriesOfReply(reply as string[]));
    }
    return mergePage(lists, limit, cursor);
  }

  /** Sets the user's "regenerating" flag unless set; true when this caller set it (and so rebuilds). */
  async markRegenerating(userId: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(FeedKeys.regenerating(userId), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  async isRegenerating(userId: string): Promise<boolean> {
    return (await this.redis.exists(FeedKeys.regenerating(userId))) === 1;
  }

  async clearRegenerating(userId: string): Promise<void> {
    await this.redis.del(FeedKeys.regenerating(userId));
  }

  private async replace(key: string, entries: readonly FeedEntry[], length: number): Promise<void> {
    const multi = this.redis.multi().del(key);
    if (entries.length > 0) {
      multi.zadd(key, ...entries.flatMap((e) => [e.score, e.postId])).zremrangebyrank(key, 0, -length - 1);
    }
    throwFirstError(await multi.exec());
  }

  private async inChunks(userIds: readonly string[], apply: (chunk: readonly string[]) => Promise<unknown>): Promise<void> {
    const unique = userIds.length > 1 ? [...new Set(userIds)] : userIds;
    const calls: Promise<unknown>[] = [];
    // All chunks are sent at once: commands pipeline on the connection, no round trip between chunks.
    for (let start = 0; start < unique.length; start += this.options.chunkSize) {
      calls.push(apply(unique.slice(start, start + this.options.chunkSize)));
    }
    await Promise.all(calls);
  }

  private evalScript(script: RedisScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return script.run(this.redis, keys, args);
  }
}

function throwFirstError(results: [error: Error | null, result: unknown][] | null): void {
  for (const [error] of results ?? []) if (error) throw error;
}
