import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { migrate, readMigrations } from '@qls/provisioning';
import { suiteSchema, uniqueName } from '@qls/testing';
import { FeedCache, FeedKeys, FeedRebuilder, FollowGraph, InvalidCursorError, type FeedEntry } from './index';

describe('libs/feeds/timeline (real Redis and Postgres)', () => {
  const db = suiteSchema({ migrate, readMigrations });
  let redis: Redis;

  beforeAll(async () => {
    redis = db.resources.redis();
  });

  /** User ids unique to this run: Redis keys have fixed names (RedisKeys). */
  const users = (n: number, prefix = 'u') => {
    const base = uniqueName(prefix);
    return Array.from({ length: n }, (_, i) => `${base}-${String(i).padStart(5, '0')}`);
  };
  const entry = (score: number): FeedEntry => ({ postId: randomUUID(), score });

  describe('FeedCache', () => {
    it('adds a post to every feed in chunks, trims each feed, and changes nothing when applied twice', async () => {
      const cache = new FeedCache(redis, { feedLength: 3, recentLength: 2, chunkSize: 7 });
      const ids = users(20);
      const posts = [entry(10), entry(20), entry(30), entry(40)];
      for (const post of posts) await cache.addToFeeds(ids, post);
      const once = await Promise.all(ids.map((id) => cache.pushed(id)));
      await cache.addToFeeds(ids, posts[3] as FeedEntry);
      await cache.addToFeeds(ids, posts[0] as FeedEntry); // the oldest comes back and is trimmed again
      const twice = await Promise.all(ids.map((id) => cache.pushed(id)));

      expect(twice).toEqual(once);
      for (const feed of once) expect(feed).toEqual([posts[3], posts[2], posts[1]]);
    });

    it('ignores adds of a deleted post (a late task cannot resurrect it)', async () => {
      const cache = new FeedCache(redis);
      const ids = users(3);
      const post = entry(1);
      await cache.addToFeeds(ids, post);
      await cache.removeFromFeeds(ids, post.postId);
      await cache.addToFeeds(ids, post);
      await cache.addRecent('author', post);

      for (const id of ids) expect(await cache.pushed(id)).toEqual([]);
      expect(await redis.ttl(FeedKeys.deleted(post.postId))).toBeGreaterThan(13 * 86_400);
      expect(await cache.recent('author', 10)).not.toContainEqual(post);
    });

    it('keeps an author’s recent posts trimmed and removes one', async () => {
      const cache = new FeedCache(redis, { recentLength: 2 });
      const [author] = users(1, 'a') as [string];
      const [p1, p2, p3] = [entry(1), entry(2), entry(3)];
      for (const p of [p1, p2, p3]) await cache.addRecent(author, p as FeedEntry);
      expect(await cache.recent(author, 10)).toEqual([p3, p2]);
      await cache.removeRecent(author, (p3 as FeedEntry).postId);
      expect(await cache.recent(author, 10)).toEqual([p2]);
    });

    it('merges pushed and pulled posts on read, each once, paging by cursor', async () => {
      const cache = new FeedCache(redis);
      const [reader, celebA, celebB] = users(3) as [string, string, string];
      const pushed = [entry(100), entry(90), entry(80), entry(70)];
      const a = [entry(95), entry(85), entry(85)];
      const b = [entry(99), entry(70)];
      await cache.replaceFeed(reader, [...pushed, a[0] as FeedEntry]); // a post both pushed and pulled
      for (const p of a) await cache.addRecent(celebA, p);
      for (const p of b) await cache.addRecent(celebB, p);

      const all: FeedEntry[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await cache.read(reader, { pulledAuthorIds: [celebA, celebB, celebA], limit: 2, ...(cursor ? { cursor } : {}) });
        all.push(...page.items);
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      const expected = [...pushed, ...a, ...b].sort((x, y) => y.score - x.score || (x.postId < y.postId ? 1 : -1));
      expect(all).toEqual(expected);
      await expect(cache.read(reader, { pulledAuthorIds: [], limit: 2, cursor: 'garbage!' })).rejects.toBeInstanceOf(InvalidCursorError);
    });

    it('replaces a feed atomically, trimmed', async () => {
      const cache = new FeedCache(redis, { feedLength: 2 });
      const [id] = users(1) as [string];
      await cache.addToFeeds([id], entry(1));
      const fresh = [entry(3), entry(2), entry(1)];
      await cache.replaceFeed(id, fresh);
      expect(await cache.pushed(id)).toEqual(fresh.slice(0, 2));
      await cache.replaceFeed(id, []);
      expect(await cache.pushed(id)).toEqual([]);
    });

    it('sets the regenerating flag once', async () => {
      const cache = new FeedCache(redis);
      const [id] = users(1) as [string];
      expect(await cache.markRegenerating(id, 30)).toBe(true);
      expect(await cache.markRegenerating(id, 30)).toBe(false);
      expect(await cache.isRegenerating(id)).toBe(true);
      await cache.clearRegenerating(id);
      expect(await cache.isRegenerating(id)).toBe(false);
    });
  });

  describe('FollowGraph', () => {
    async function seed(followee: string, followers: readonly string[], inactive: ReadonlySet<string> = new Set()): Promise<void> {
      const everyone = [followee, ...followers];
      await db.pool.query(
        `INSERT INTO feed_users (id, handle, last_active_at)
         SELECT id, id, CASE WHEN id = ANY($2::text[]) THEN now() - interval '90 days' ELSE now() END FROM unnest($1::text[]) AS id`,
        [everyone, [...inactive]],
      );
      await db.pool.query(`INSERT INTO follows (followee_id, follower_id) SELECT $1, unnest($2::text[])`, [followee, followers]);
      await db.pool.query(`UPDATE feed_users SET follower_count = $2 WHERE id = $1`, [followee, followers.length]);
    }

    it('walks the followers in keyset chunks that cover each exactly once', async () => {
      const graph = new FollowGraph(db.pool);
      const [followee] = users(1, 'star') as [string];
      const followers = users(23, 'fan');
      await seed(followee, followers);

      const chunks = [];
      for await (const chunk of graph.followerChunks(followee, 5)) chunks.push(chunk);
      expect(chunks).toHaveLength(5);
      expect(chunks[0]?.afterFollowerId).toBeNull();
      const covered = (await Promise.all(chunks.map((c) => graph.followersInRange(followee, c.afterFollowerId, c.lastFollowerId)))).flat();
      expect(covered).toEqual(followers);
      expect(await graph.followerCount(followee)).toBe(23);

      const exact = [];
      for await (const chunk of graph.followerChunks(followee, 23)) exact.push(chunk);
      expect(exact).toEqual([{ afterFollowerId: null, lastFollowerId: followers[22] }]);
    });

    it('leaves out followers not seen since the active period', async () => {
      const graph = new FollowGraph(db.pool);
      const [followee] = users(1, 'star') as [string];
      const followers = users(10, 'fan');
      const inactive = new Set(followers.filter((_, i) => i % 3 === 0));
      await seed(followee, followers, inactive);
      const since = new Date(Date.now() - 30 * 86_400_000);

      const chunks = [];
      for await (const chunk of graph.followerChunks(followee, 3, since)) chunks.push(chunk);
      const covered = (
        await Promise.all(chunks.map((c) => graph.followersInRange(followee, c.afterFollowerId, c.lastFollowerId, since)))
      ).flat();
      expect(covered).toEqual(followers.filter((f) => !inactive.has(f)));
      expect(chunks).toHaveLength(2);
    });

    it('yields nothing for a user without followers', async () => {
      const graph = new FollowGraph(db.pool);
      const chunks = [];
      for await (const chunk of graph.followerChunks(uniqueName('nobody'), 10)) chunks.push(chunk);
      expect(chunks).toEqual([]);
      expect(await graph.followerCount(uniqueName('nobody'))).toBe(0);
    });

    it('names the celebrities a user follows, and all followees', async () => {
      const graph = new FollowGraph(db.pool);
      const [small, big] = users(2, 'acct') as [string, string];
      const fans = users(4, 'fan');
      await seed(big, fans);
      await seed(small, [], new Set());
      await db.pool.query(`INSERT INTO follows (followee_id, follower_id) VALUES ($1, $2)`, [small, fans[0]]);
      expect(await graph.celebritiesFollowedBy(fans[0] as string, 4)).toEqual([big]);
      expect(await graph.celebritiesFollowedBy(fans[0] as string, 5)).toEqual([]);
      expect(await graph.followees(fans[0] as string)).toEqual([small, big].sort());
      expect(await graph.follows(fans[0] as string, big)).toBe(true);
      expect(await graph.follows(big, fans[0] as string)).toBe(false);
    });
  });

  describe('FeedRebuilder', () => {
    it('rebuilds a feed from the database: non-celebrity followees’ live posts, ranked, trimmed', async () => {
      const cache = new FeedCache(redis, { feedLength: 3 });
      const [reader, friend, celeb, stranger] = users(4) as [string, string, string, string];
      await db.pool.query(`INSERT INTO feed_users (id, handle, follower_count) SELECT id, id, 0 FROM unnest($1::text[]) AS id`, [
        [reader, friend, celeb, stranger],
      ]);
      await db.pool.query(`UPDATE feed_users SET follower_count = 100 WHERE id = $1`, [celeb]);
      await db.pool.query(`INSERT INTO follows (followee_id, follower_id) VALUES ($1, $3), ($2, $3)`, [friend, celeb, reader]);
      const post = async (author: string, at: number, deleted = false) => {
        const id = randomUUID();
        await db.pool.query(
          `INSERT INTO posts (id, author_id, body, created_at, deleted_at) VALUES ($1, $2, 'x', to_timestamp($3 / 1000.0), $4)`,
          [id, author, at, deleted ? new Date() : null],
        );
        return { postId: id, score: at };
      };
      const f = [await post(friend, 1_000), await post(friend, 2_000), await post(friend, 3_000), await post(friend, 4_000)];
      await post(friend, 5_000, true);
      await post(celeb, 6_000);
      await post(stranger, 7_000);

      const rebuilder = new FeedRebuilder(db.pool, cache, { celebrityThreshold: 100 });
      expect(await rebuilder.rebuildFeed(reader)).toEqual([f[3], f[2], f[1]]);
      expect(await cache.pushed(reader)).toEqual([f[3], f[2], f[1]]);

      const reversed = new FeedRebuilder(db.pool, cache, { celebrityThreshold: 100, ranking: (p) => -p.createdAt });
      await reversed.rebuildFeed(reader);
      expect((await cache.pushed(reader)).map((e) => e.postId)).toEqual([f[0], f[1], f[2]].map((e) => e?.postId));
      expect(await rebuilder.rebuildRecent(friend)).toBe(4);
      expect(await cache.recent(friend, 10)).toEqual([f[3], f[2], f[1], f[0]]);
    });
  });
});
