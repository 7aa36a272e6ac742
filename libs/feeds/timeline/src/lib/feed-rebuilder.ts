import type { Pool } from 'pg';
import type { FeedCache } from './feed-cache';
import type { FeedEntry } from './feed-page';
import { type Ranking, recency } from './ranking';

export interface FeedRebuilderOptions {
  /** Followees at or above it are merged at read time, so their posts are not put into the pushed feed. */
  readonly celebrityThreshold: number;
  /** @defaultValue recency */
  readonly ranking?: Ranking;
  /**
   * Newest posts considered per rebuilt feed, then ranked: the ranking may
   * reorder them, but a post older than all of these is not a candidate
   * (rankings are expected to decay with age). @defaultValue 2 × feedLength
   */
  readonly candidates?: number;
}

interface PostRow {
  id: string;
  author_id: string;
  created_ms: string;
}

/**
 * Rebuilds feed caches from the database (posts + follows), the source of
 * truth: a user's pushed feed (an inactive user's on first read, behind the
 * "regenerating" flag; every feed after a ranking change) and an author's
 * recent posts. Scores come from the pluggable {@link Ranking}.
 */
export class FeedRebuilder {
  private readonly ranking: Ranking;
  private readonly candidates: number;

  constructor(
    private readonly pool: Pool,
    private readonly cache: FeedCache,
    private readonly options: FeedRebuilderOptions,
  ) {
    this.ranking = options.ranking ?? recency;
    this.candidates = options.candidates ?? 2 * cache.feedLength;
  }

  /**
   * The pushed feed `userId` should have: the newest live posts of their
   * followees that are not merged at read time (FollowGraph.celebritiesFollowedBy
   * names those), ranked, trimmed.
   */
  async feedOf(userId: string): Promise<FeedEntry[]> {
    const { rows } = await this.pool.query<PostRow>(
      `SELECT p.id, p.author_id, floor(extract(epoch FROM p.created_at) * 1000)::bigint AS created_ms
         FROM posts p
        WHERE p.deleted_at IS NULL
          AND p.author_id IN (SELECT f.followee_id
                                FROM follows f JOIN feed_users u ON u.id = f.followee_id
                               WHERE f.follower_id = $1 AND u.follower_count < $2 AND u.merged_since IS NULL)
        ORDER BY p.created_at DESC
        LIMIT $3`,
      [userId, this.options.celebrityThreshold, this.candidates],
    );
    return this.rank(rows, this.cache.feedLength);
  }

  /**
   * Replaces the user's pushed feed with {@link feedOf}, safely while the
   * fan-out writes to it; returns the entries of the last read.
   *
   * Between the read and the replace, the fan-out may add a post (committed
   * after the read) that the replace then wipes, or remove one (deleted after
   * the read) that the replace puts back. So after the replace the feed is
   * read again and reconciled: posts it gained are added (unless tombstoned:
   * a delete racing this add wins), posts it lost are removed. A change
   * committed after that second read reaches the feed through the fan-out,
   * after the replace. `beforeReread` runs between the replace and the second
   * read (the reader marks an inactive user active there, so that from then on
   * the fan-out pushes to them).
   */
  async rebuildFeed(userId: string, options: { beforeReread?: () => Promise<unknown> } = {}): Promise<FeedEntry[]> {
    const first = await this.feedOf(userId);
    await this.cache.replaceFeed(userId, first);
    await options.beforeReread?.();
    const second = await this.feedOf(userId);
    const { added, removed } = changes(first, second);
    await Promise.all([this.cache.addLiveEntries(userId, added), this.cache.removeEntries(userId, removed)]);
    return second;
  }

  /** The author's newest live posts, ranked, trimmed to the recent-posts length. */
  async recentOf(authorId: string): Promise<FeedEntry[]> {
    const { rows } = await this.pool.query<PostRow>(
      `SELECT id, author_id, floor(extract(epoch FROM created_at) * 1000)::bigint AS created_ms
         FROM posts WHERE author_id = $1 AND deleted_at IS NULL
        ORDER BY created_at DESC LIMIT $2`,
      [authorId, this.cache.recentLength],
    );
    return this.rank(rows, this.cache.recentLength);
  }

  /**
   * Replaces the author's recent posts with {@link recentOf}, reconciled
   * after the replace like {@link rebuildFeed} (a post the fan-out added or
   * removed meanwhile is not lost or resurrected); returns how many.
   */
  async rebuildRecent(authorId: string): Promise<number> {
    const first = await this.recentOf(authorId);
    await this.cache.replaceRecent(authorId, first);
    const second = await this.recentOf(authorId);
    const { added, removed } = changes(first, second);
    await Promise.all([...added.map((entry) => this.cache.addRecent(authorId, entry)), this.cache.removeRecentEntries(authorId, removed)]);
    return second.length;
  }

  private rank(rows: readonly PostRow[], length: number): FeedEntry[] {
    return rows
      .map((row) => ({
        postId: row.id,
        score: this.ranking({ postId: row.id, authorId: row.author_id, createdAt: Number(row.created_ms) }),
      }))
      .sort((a, b) => b.score - a.score || (a.postId < b.postId ? 1 : a.postId > b.postId ? -1 : 0))
      .slice(0, length);
  }
}

/** What a second read gained (entries) and lost (post ids) against the first. */
function changes(first: readonly FeedEntry[], second: readonly FeedEntry[]): { added: FeedEntry[]; removed: string[] } {
  const inFirst = new Set(first.map((entry) => entry.postId));
  const inSecond = new Set(second.map((entry) => entry.postId));
  return {
    added: second.filter((entry) => !inFirst.has(entry.postId)),
    removed: first.filter((entry) => !inSecond.has(entry.postId)).map((entry) => entry.postId),
  };
}
