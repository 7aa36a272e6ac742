import type { Pool, QueryResult } from 'pg';

/** Keyset bounds of one chunk of followers: `afterFollowerId < follower_id <= lastFollowerId`. */
export interface FollowerChunk {
  readonly afterFollowerId: string | null;
  readonly lastFollowerId: string;
}

/** What the fan-out needs to know about an author to pick a tier. */
export interface AuthorState {
  readonly followerCount: number;
  /** Since when readers merge the author's recent posts (set at the first pull-tier event, never cleared); null if never. */
  readonly mergedSince: Date | null;
}

/**
 * The follow graph in Postgres (infra/migrations/0005_feed.sql): follows keyed
 * (followee_id, follower_id), so one author's followers are an index range
 * walked in follower-id order; feed_users carries follower_count (the fan-out
 * tier) and last_active_at (only active followers are pushed to).
 *
 * All follower-id comparisons happen in SQL, so chunk bounds follow the
 * database's collation consistently.
 */
export class FollowGraph {
  constructor(private readonly pool: Pool) {}

  /** The user's follower_count (0 for an unknown user). */
  async followerCount(userId: string): Promise<number> {
    const { rows } = await this.pool.query<{ follower_count: number }>('SELECT follower_count FROM feed_users WHERE id = $1', [userId]);
    return rows[0]?.follower_count ?? 0;
  }

  /** The author's follower_count and merged_since, in one query (an unknown user: 0 and null). */
  async authorState(userId: string): Promise<AuthorState> {
    const { rows } = await this.pool.query<{ follower_count: number; merged_since: Date | null }>(
      'SELECT follower_count, merged_since FROM feed_users WHERE id = $1',
      [userId],
    );
    return { followerCount: rows[0]?.follower_count ?? 0, mergedSince: rows[0]?.merged_since ?? null };
  }

  /**
   * Readers merge the author's recent posts from now on, whatever their
   * follower count later; the posts created until now may be in pushed feeds
   * (infra/migrations/0007_feed_merged_on_read.sql). Idempotent: the first
   * moment stays.
   */
  async markMergedOnRead(userId: string): Promise<void> {
    await this.pool.query(
      'UPDATE feed_users SET merged_since = now(), pushed_until = greatest(pushed_until, now()) WHERE id = $1 AND merged_since IS NULL',
      [userId],
    );
  }

  /** A merged author's post created at `createdAtMs` was pushed to feeds (the author is below the threshold again). */
  async notePushed(userId: string, createdAtMs: number): Promise<void> {
    await this.pool.query(
      `UPDATE feed_users SET pushed_until = greatest(pushed_until, 'epoch'::timestamptz + ($2::bigint + 1) * interval '1 millisecond')
        WHERE id = $1`,
      [userId, createdAtMs],
    );
  }

  /**
   * Whether the post may be in pushed feeds although its author is now merged
   * at read time: it was created at or before the author's pushed_until, or
   * the author or post is unknown here (then removing it is the safe answer).
   */
  async mayBePushed(postId: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ pushed: boolean | null }>(
      `SELECT p.created_at <= u.pushed_until AS pushed FROM posts p JOIN feed_users u ON u.id = p.author_id WHERE p.id = $1`,
      [postId],
    );
    return rows[0]?.pushed ?? true;
  }

  /**
   * Keyset chunk boundaries over the followers (follower_id order), optionally
   * only those active since `activeSince`: one query per chunk reads at most
   * `chunkSize` index entries and returns only the chunk's last id; the
   * follower list itself is never loaded.
   */
  async *followerChunks(followeeId: string, chunkSize: number, activeSince?: Date): AsyncIterable<FollowerChunk> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunkSize: expected a positive integer, got ${chunkSize}`);
    let after: string | null = null;
    for (;;) {
      // '' sorts before every id: no OR-with-NULL in the WHERE clause, so both indexes are range scans.
      const result: QueryResult<{ last: string | null; n: number }> = await this.pool.query(
        `SELECT max(follower_id) AS last, count(*)::int AS n
           FROM (SELECT f.follower_id ${fromFollowers(activeSince)} AND f.follower_id > $2 ${activeSince ? 'AND u.id > $2' : ''}
                  ORDER BY f.follower_id
                  LIMIT $3) chunk`,
        activeSince ? [followeeId, after ?? '', chunkSize, activeSince] : [followeeId, after ?? '', chunkSize],
      );
      const row: { last: string | null; n: number } | undefined = result.rows[0];
      const last: string | null = row?.last ?? null;
      if (last === null) return;
      yield { afterFollowerId: after, lastFollowerId: last };
      if ((row?.n ?? 0) < chunkSize) return;
      after = last;
    }
  }

  /** The followers in a chunk's bounds (follower-id order), optionally only those active since `activeSince`. */
  async followersInRange(
    followeeId: string,
    afterFollowerId: string | null,
    lastFollowerId: string,
    activeSince?: Date,
  ): Promise<string[]> {
    const bounds = activeSince ? 'AND u.id > $2 AND u.id <= $3' : '';
    const { rows } = await this.pool.query<{ follower_id: string }>(
      `SELECT f.follower_id ${fromFollowers(activeSince)} AND f.follower_id > $2 AND f.follower_id <= $3 ${bounds}
        ORDER BY f.follower_id`,
      activeSince ? [followeeId, afterFollowerId ?? '', lastFollowerId, activeSince] : [followeeId, afterFollowerId ?? '', lastFollowerId],
    );
    return rows.map((row) => row.follower_id);
  }

  /**
   * Followees of a user merged into their feed at read time: the celebrities
   * (follower_count ≥ threshold) and every author the fan-out ever handled as
   * one (merged_since set), so that the posts an author made as a celebrity
   * stay visible after they drop below the threshold. {@link FeedRebuilder}
   * pushes exactly the posts of the other followees.
   */
  async celebritiesFollowedBy(userId: string, threshold: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT u.id
         FROM follows f JOIN feed_users u ON u.id = f.followee_id
        WHERE f.follower_id = $1 AND (u.follower_count >= $2 OR u.merged_since IS NOT NULL)
        ORDER BY u.id`,
      [userId, threshold],
    );
    return rows.map((row) => row.id);
  }

  /** Everyone the user follows. */
  async followees(userId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ followee_id: string }>(
      'SELECT followee_id FROM follows WHERE follower_id = $1 ORDER BY followee_id',
      [userId],
    );
    return rows.map((row) => row.followee_id);
  }

  /** Whether `followerId` follows `followeeId` now. */
  async follows(followerId: string, followeeId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM follows WHERE followee_id = $1 AND follower_id = $2', [
      followeeId,
      followerId,
    ]);
    return (rowCount ?? 0) > 0;
  }
}

/**
 * `FROM … WHERE followee_id = $1` over the followers, joined with feed_users
 * (last_active_at ≥ $4) when only active ones count. Callers repeat their id
 * bounds on `u.id` so a merge join starts at the bound instead of the first user.
 */
function fromFollowers(activeSince: Date | undefined): string {
  return activeSince
    ? 'FROM follows f JOIN feed_users u ON u.id = f.follower_id WHERE f.followee_id = $1 AND u.last_active_at >= $4'
    : 'FROM follows f WHERE f.followee_id = $1';
}
