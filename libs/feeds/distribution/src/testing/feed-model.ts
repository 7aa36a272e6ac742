import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { type FeedCache, type FeedEntry, type FollowGraph, compareEntries } from '@qls/feed-timeline';
import type { FeedEvent } from '@qls/feed-contracts';

/** A seeded PRNG (mulberry32): the same seed, the same graph. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface ModelPost {
  readonly postId: string;
  readonly authorId: string;
  readonly score: number;
}

/**
 * The reference: what every user's feed must be, computed from the follow
 * graph and the posts alone — every live post of everyone they follow, best
 * ranked first (recency: score = createdAt). Test sizes stay under the feed
 * and recent-posts lengths, so nothing is trimmed.
 */
export class FeedModel {
  readonly followers = new Map<string, Set<string>>();
  readonly posts = new Map<string, ModelPost>();
  readonly deleted = new Set<string>();

  constructor(readonly users: readonly string[]) {
    for (const user of users) this.followers.set(user, new Set());
  }

  followerCount(user: string): number {
    return this.followers.get(user)?.size ?? 0;
  }

  follows(follower: string, followee: string): boolean {
    return this.followers.get(followee)?.has(follower) ?? false;
  }

  feedOf(user: string): FeedEntry[] {
    return [...this.posts.values()]
      .filter((p) => !this.deleted.has(p.postId) && this.follows(user, p.authorId))
      .map(({ postId, score }) => ({ postId, score }))
      .sort(compareEntries);
  }

  /** Posts `count` times as `author` at increasing times; returns the PostCreated events. */
  post(author: string, createdAt: number): FeedEvent {
    const postId = randomUUID();
    this.posts.set(postId, { postId, authorId: author, score: createdAt });
    return { type: 'PostCreated', schemaVersion: 1, postId, authorId: author, body: `post by ${author}`, createdAt };
  }

  delete(postId: string, at: number): FeedEvent {
    const post = this.posts.get(postId);
    if (!post) throw new Error(`no post ${postId}`);
    this.deleted.add(postId);
    return { type: 'PostDeleted', schemaVersion: 1, postId, authorId: post.authorId, deletedAt: at };
  }
}

/**
 * A random graph over `users` mixing the three tiers: `celebrities` users get
 * at least `celebrityAt` followers, `queued` users between `directBelow` and
 * `celebrityAt - 1`, the rest fewer than `directBelow`.
 */
export function randomGraph(
  model: FeedModel,
  next: () => number,
  counts: { celebrities: number; queued: number },
  thresholds: { directBelow: number; celebrityAt: number },
): void {
  const { users } = model;
  const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  users.forEach((user, index) => {
    const target =
      index < counts.celebrities
        ? pick(thresholds.celebrityAt, Math.min(users.length - 1, thresholds.celebrityAt + 8))
        : index < counts.celebrities + counts.queued
          ? pick(thresholds.directBelow, thresholds.celebrityAt - 1)
          : pick(0, thresholds.directBelow - 1);
    const others = users.filter((u) => u !== user);
    const followers = model.followers.get(user) as Set<string>;
    while (followers.size < target) followers.add(others[Math.floor(next() * others.length)] as string);
  });
}

/** Writes the model's users and follows (with follower_count) in three statements. */
export async function seedGraph(pool: Pool, model: FeedModel): Promise<void> {
  await pool.query(`INSERT INTO feed_users (id, handle) SELECT id, id FROM unnest($1::text[]) AS id`, [model.users]);
  const followees: string[] = [];
  const followers: string[] = [];
  for (const [followee, set] of model.followers) {
    for (const follower of set) {
      followees.push(followee);
      followers.push(follower);
    }
  }
  await pool.query(`INSERT INTO follows (followee_id, follower_id) SELECT * FROM unnest($1::text[], $2::text[])`, [followees, followers]);
  await pool.query(
    `UPDATE feed_users u SET follower_count = c.n FROM (SELECT followee_id, count(*)::int AS n FROM follows GROUP BY followee_id) c
      WHERE u.id = c.followee_id AND u.id = ANY($1::text[])`,
    [model.users],
  );
}

/** Follows / unfollows in the database the way the feed API does (row + follower_count in one transaction), and in the model. */
export async function setFollow(
  pool: Pool,
  model: FeedModel,
  follower: string,
  followee: string,
  follow: boolean,
  at: number,
): Promise<FeedEvent> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rowCount } = follow
      ? await client.query(`INSERT INTO follows (followee_id, follower_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [followee, follower])
      : await client.query(`DELETE FROM follows WHERE followee_id = $1 AND follower_id = $2`, [followee, follower]);
    await client.query(`UPDATE feed_users SET follower_count = follower_count + $2 WHERE id = $1`, [
      followee,
      (follow ? 1 : -1) * (rowCount ?? 0),
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
  const set = model.followers.get(followee) as Set<string>;
  if (follow) set.add(follower);
  else set.delete(follower);
  return { type: follow ? 'Followed' : 'Unfollowed', schemaVersion: 1, followerId: follower, followeeId: followee, at };
}

/** Every page of a user's feed as the feed API reads it (celebrities they follow merged), `pageSize` at a time. */
export async function readWholeFeed(
  cache: FeedCache,
  graph: FollowGraph,
  user: string,
  celebrityAt: number,
  pageSize = 7,
): Promise<FeedEntry[]> {
  const pulledAuthorIds = await graph.celebritiesFollowedBy(user, celebrityAt);
  const all: FeedEntry[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1_000; page++) {
    const result = await cache.read(user, { pulledAuthorIds, limit: pageSize, ...(cursor === undefined ? {} : { cursor }) });
    all.push(...result.items);
    if (result.nextCursor === null) return all;
    cursor = result.nextCursor;
  }
  throw new Error(`feed of ${user} did not end`);
}

/** Users whose feed differs from the model, with the first difference; empty when every feed matches. */
export async function feedMismatches(cache: FeedCache, graph: FollowGraph, model: FeedModel, celebrityAt: number): Promise<string[]> {
  const problems: string[] = [];
  await Promise.all(
    model.users.map(async (user) => {
      const actual = await readWholeFeed(cache, graph, user, celebrityAt);
      const expected = model.feedOf(user);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        problems.push(
          `${user}: expected ${expected.length} posts [${expected.map((e) => e.postId.slice(0, 8))}], got ${actual.length} [${actual.map((e) => e.postId.slice(0, 8))}]`,
        );
      }
    }),
  );
  return problems;
}
