import type { Pool } from 'pg';
import { UserNotFoundError } from './feed-api.errors';
import { type FeedApiLimits, feedApiLimits, isUserId, parseStatsQuery } from './requests';

export interface UserStats {
  readonly userId: string;
  /** ISO 8601, whole hours: [from, to). */
  readonly from: string;
  readonly to: string;
  /** Live posts in [from, to). */
  readonly posts: number;
  /** Hours with posts, oldest first (hours without are left out). */
  readonly hours: { readonly hour: string; readonly posts: number }[];
}

/**
 * `GET /users/:id/stats?from=&to=`: the user's posts per hour, from the view
 * `post_stats_hourly` over the `analytics` group's projection (deleted posts
 * not counted; it lags the log by that group's lag). Public, like a post count.
 *
 * @throws UserNotFoundError, FeedValidationError (bad from / to, range too wide)
 */
export async function userStats(
  pool: Pool,
  id: string,
  query: unknown,
  now = Date.now(),
  limits: FeedApiLimits = feedApiLimits,
): Promise<UserStats> {
  const { from, to } = parseStatsQuery(query, now, limits);
  if (!isUserId(id)) throw new UserNotFoundError(id.slice(0, 120));
  const [user, stats] = await Promise.all([
    pool.query('SELECT 1 FROM feed_users WHERE id = $1', [id]),
    pool.query<{ hour: Date; posts: number }>(
      `SELECT hour, posts::int AS posts FROM post_stats_hourly
        WHERE author_id = $1 AND hour >= $2 AND hour < $3 AND posts > 0
        ORDER BY hour`,
      [id, new Date(from), new Date(to)],
    ),
  ]);
  if ((user.rowCount ?? 0) === 0) throw new UserNotFoundError(id);
  const hours = stats.rows.map((row) => ({ hour: row.hour.toISOString(), posts: row.posts }));
  return {
    userId: id,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    posts: hours.reduce((sum, h) => sum + h.posts, 0),
    hours,
  };
}
