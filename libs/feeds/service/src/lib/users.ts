import type { Pool } from 'pg';
import { FeedValidationError, HandleTakenError, UserExistsError, UserNotFoundError } from './feed-api.errors';
import { type Caller, USER_ID_MAX, isUserId, parseCreateUser } from './requests';

/** What anyone may see of a user. */
export interface UserView {
  readonly id: string;
  readonly handle: string;
  readonly followerCount: number;
  readonly followingCount: number;
  /** ISO 8601. */
  readonly createdAt: string;
}

interface UserRow {
  id: string;
  handle: string;
  follower_count: number;
  following_count: number;
  created_at: Date;
}

function toView(row: UserRow): UserView {
  return {
    id: row.id,
    handle: row.handle,
    followerCount: row.follower_count,
    followingCount: row.following_count,
    createdAt: row.created_at.toISOString(),
  };
}

/**
 * `POST /users`: creates the caller's user (id = the token's `sub`) with a
 * unique handle. A repeat (same user, same handle) answers the existing user
 * with `created: false`; another handle for an existing user is a conflict,
 * as is a handle someone else has. Concurrent repeats are safe: the insert is
 * ON CONFLICT DO NOTHING, so the second waits for the first and reads its row.
 *
 * @throws FeedValidationError, UserExistsError, HandleTakenError
 */
export async function createUser(pool: Pool, caller: Caller, body: unknown): Promise<{ user: UserView; created: boolean }> {
  const { handle } = parseCreateUser(body);
  if (!isUserId(caller.userId)) {
    // The token is valid, but its subject cannot be a user id of this system (the events allow 1–100 characters).
    throw FeedValidationError.of('sub', `the token subject must be 1 to ${USER_ID_MAX} characters to be a user id`);
  }
  const inserted = await pool.query<UserRow>(
    `INSERT INTO feed_users (id, handle) VALUES ($1, $2) ON CONFLICT DO NOTHING
     RETURNING id, handle, follower_count, 0 AS following_count, created_at`,
    [caller.userId, handle],
  );
  const row = inserted.rows[0];
  if (row !== undefined) return { user: toView(row), created: true };
  const existing = await findUser(pool, caller.userId);
  if (existing === undefined) throw new HandleTakenError(handle);
  if (existing.handle !== handle) throw new UserExistsError(caller.userId, existing.handle);
  return { user: existing, created: false };
}

/**
 * `GET /users/:id`: any user, as anyone may see them.
 * @throws UserNotFoundError
 */
export async function getUser(pool: Pool, id: string): Promise<UserView> {
  const user = isUserId(id) ? await findUser(pool, id) : undefined;
  if (user === undefined) throw new UserNotFoundError(id.slice(0, 120));
  return user;
}

async function findUser(pool: Pool, id: string): Promise<UserView | undefined> {
  const { rows } = await pool.query<UserRow>(
    `SELECT id, handle, follower_count, created_at,
            (SELECT count(*)::int FROM follows WHERE follower_id = u.id) AS following_count
       FROM feed_users u WHERE id = $1`,
    [id],
  );
  return rows[0] === undefined ? undefined : toView(rows[0]);
}
