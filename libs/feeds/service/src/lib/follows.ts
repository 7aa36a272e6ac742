import type { Pool } from 'pg';
import { enqueue, inTransaction } from '@qls/outbox';
import { FeedForbiddenError, FeedValidationError, NotRegisteredError, UserNotFoundError } from './feed-api.errors';
import { type FeedOutboxOptions, feedOutboxEvent } from './feed-outbox';
import { type Caller, isUserId } from './requests';

/** The follow relation after a PUT / DELETE. */
export interface FollowView {
  readonly followerId: string;
  readonly followeeId: string;
  readonly following: boolean;
  /** The followee's follower_count after the change. */
  readonly followeeFollowerCount: number;
}

/** A user acts only as themselves: `:id` in the path must be the caller. */
function assertSelf(caller: Caller, userId: string): void {
  if (userId !== caller.userId)
    throw new FeedForbiddenError('you can only change whom you follow yourself: :id must be your user id', 'id');
}

/**
 * `PUT /users/:id/following/:followeeId`: the caller follows `followeeId`.
 * Idempotent: following again changes nothing and writes no event
 * (`created: false`). Otherwise, in ONE transaction: the follows row, the
 * followee's follower_count + 1 (it decides the fan-out tier) and a
 * `Followed.v1` outbox event to `posts`, keyed by the followee (the fan-out
 * backfills their recent posts into the caller's feed).
 *
 * @throws FeedForbiddenError (not yourself), FeedValidationError (following yourself),
 *   NotRegisteredError, UserNotFoundError (no such followee)
 */
export async function follow(
  pool: Pool,
  caller: Caller,
  userId: string,
  followeeId: string,
  options: FeedOutboxOptions,
): Promise<{ follow: FollowView; created: boolean }> {
  assertSelf(caller, userId);
  if (!isUserId(followeeId)) throw new UserNotFoundError(followeeId.slice(0, 120));
  if (followeeId === userId) throw FeedValidationError.of('followeeId', 'you cannot follow yourself');
  try {
    return await inTransaction(pool, async (tx) => {
      const inserted = await tx.client.query<{ at: Date }>(
        `INSERT INTO follows (followee_id, follower_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING created_at AS at`,
        [followeeId, userId],
      );
      const at = inserted.rows[0]?.at;
      if (at === undefined) {
        // Already following: nothing to write.
        const { rows } = await tx.client.query<{ follower_count: number }>('SELECT follower_count FROM feed_users WHERE id = $1', [
          followeeId,
        ]);
        return { follow: view(userId, followeeId, true, rows[0]?.follower_count ?? 0), created: false };
      }
      const { rows } = await tx.client.query<{ follower_count: number }>(
        'UPDATE feed_users SET follower_count = follower_count + 1 WHERE id = $1 RETURNING follower_count',
        [followeeId],
      );
      await enqueue(tx, [
        feedOutboxEvent(options, { type: 'Followed', schemaVersion: 1, followerId: userId, followeeId, at: at.getTime() }),
      ]);
      return { follow: view(userId, followeeId, true, rows[0]?.follower_count ?? 0), created: true };
    });
  } catch (error) {
    throw missingUser(error, userId, followeeId) ?? error;
  }
}

/**
 * `DELETE /users/:id/following/:followeeId`: the caller stops following
 * `followeeId`. Idempotent: not following changes nothing and writes no
 * event. Otherwise, in ONE transaction: the row deleted, follower_count − 1
 * and an `Unfollowed.v1` event keyed by the followee (the fan-out removes
 * their posts from the caller's feed).
 *
 * @throws FeedForbiddenError (not yourself)
 */
export async function unfollow(
  pool: Pool,
  caller: Caller,
  userId: string,
  followeeId: string,
  options: FeedOutboxOptions,
): Promise<{ follow: FollowView; removed: boolean }> {
  assertSelf(caller, userId);
  if (!isUserId(followeeId)) throw new UserNotFoundError(followeeId.slice(0, 120));
  return inTransaction(pool, async (tx) => {
    const deleted = await tx.client.query('DELETE FROM follows WHERE followee_id = $1 AND follower_id = $2', [followeeId, userId]);
    if ((deleted.rowCount ?? 0) === 0) {
      const { rows } = await tx.client.query<{ follower_count: number }>('SELECT follower_count FROM feed_users WHERE id = $1', [
        followeeId,
      ]);
      if (rows[0] === undefined) throw new UserNotFoundError(followeeId);
      return { follow: view(userId, followeeId, false, rows[0].follower_count), removed: false };
    }
    const { rows } = await tx.client.query<{ follower_count: number; at: Date }>(
      'UPDATE feed_users SET follower_count = follower_count - 1 WHERE id = $1 RETURNING follower_count, now() AS at',
      [followeeId],
    );
    const row = rows[0];
    await enqueue(tx, [
      feedOutboxEvent(options, {
        type: 'Unfollowed',
        schemaVersion: 1,
        followerId: userId,
        followeeId,
        at: row?.at.getTime() ?? Date.now(),
      }),
    ]);
    return { follow: view(userId, followeeId, false, row?.follower_count ?? 0), removed: true };
  });
}

function view(followerId: string, followeeId: string, following: boolean, followeeFollowerCount: number): FollowView {
  return { followerId, followeeId, following, followeeFollowerCount };
}

/** A foreign-key violation of follows says which user is missing. */
function missingUser(error: unknown, userId: string, followeeId: string): Error | undefined {
  const { code, constraint } = error as { code?: string; constraint?: string };
  if (code !== '23503') return undefined;
  if (constraint === 'follows_follower_id_fkey') return new NotRegisteredError(userId);
  return new UserNotFoundError(followeeId);
}
