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

  /** The pushed feed `userId` should have: their non-celebrity followees' newest live posts, ranked, trimmed. */
  async feedOf(userId: string): Promise<FeedEntry[]> {
    const { rows } = await this.pool.query<PostRow>(
      `SELECT p.id, p.author_id, floor(extract(epoch FROM p.created_at) * 1000)::bigint AS created_ms
         FROM posts p
        WHERE p.deleted_at IS NULL
          AND p.author_id IN (SELECT f.followee_id
                                FROM follows f JOIN feed_users u ON u.id = f.followee_id
                               WHERE f.follower_id = $1 AND u.follower_count < $2)
        ORDER BY p.created_at DESC
        LIMIT $3`,
      [userId, this.options.celebrityThreshold, this.candidates],
    );
    return this.rank(rows, this.cache.feedLength);
  }

  /** Replaces the user's pushed feed with {@link feedOf}; returns its entries. */
  async rebuildFeed(userId: string): Promise<FeedEntry[]> {
    const entries = await this.feedOf(userId);
    await this.cache.replaceFeed(userId, entries);
    return entries;
  }

  /** Replaces the author's recent posts with their newest live posts, ranked; returns how many. */
  async rebuildRecent(authorId: string): Promise<number> {
    const { rows } = await this.pool.query<PostRow>(
      `SELECT id, author_id, floor(extract(epoch FROM created_at) * 1000)::bigint AS created_ms
         FROM posts WHERE author_id = $1 AND deleted_at IS NULL
        ORDER BY created_at DESC LIMIT $2`,
      [authorId, this.cache.recentLength],
    );
    const entries = this.rank(rows, this.cache.recentLength);
    await this.cache.replaceRecent(authorId, entries);
    return entries.length;
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
