import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { enqueue, inTransaction } from '@qls/outbox';
import { FeedForbiddenError, NotRegisteredError, PostIdConflictError, PostNotFoundError } from './feed-api.errors';
import { type FeedOutboxOptions, feedOutboxEvent } from './feed-outbox';
import { type Caller, type FeedApiLimits, feedApiLimits, isPostId, parseCreatePost } from './requests';

/** A live post, as anyone may see it. */
export interface PostView {
  readonly id: string;
  readonly authorId: string;
  readonly authorHandle: string;
  readonly body: string;
  /** ISO 8601, millisecond precision (the feed score under the default ranking). */
  readonly createdAt: string;
}

export interface PostRow {
  id: string;
  author_id: string;
  handle: string;
  body: string;
  created_at: Date;
}

/** The columns {@link toPostView} reads, of `posts p JOIN feed_users u ON u.id = p.author_id`. */
export const POST_COLUMNS = 'p.id, p.author_id, u.handle, p.body, p.created_at';

export function toPostView(row: PostRow): PostView {
  return { id: row.id, authorId: row.author_id, authorHandle: row.handle, body: row.body, createdAt: row.created_at.toISOString() };
}

/**
 * `POST /posts`: the caller posts `body`. In ONE transaction, the posts row
 * and a `PostCreated.v1` outbox event to `posts` keyed by the author — the
 * relay publishes it after commit, so there is never an event without a post
 * nor a post without its event, and one author's posts stay in order.
 *
 * The creation time is truncated to the millisecond, so the event's
 * `createdAt` (epoch ms, the feed score) is exactly the stored one. A retry
 * with the same client-chosen `postId` and body answers the first post with
 * `created: false` and writes nothing.
 *
 * @throws FeedValidationError, NotRegisteredError, PostIdConflictError
 */
export async function createPost(
  pool: Pool,
  caller: Caller,
  body: unknown,
  options: FeedOutboxOptions,
  limits: FeedApiLimits = feedApiLimits,
): Promise<{ post: PostView; created: boolean }> {
  const command = parseCreatePost(body, limits);
  const id = command.postId ?? randomUUID();
  try {
    return await inTransaction(pool, async (tx) => {
      const inserted = await tx.client.query<PostRow>(
        `WITH p AS (
           INSERT INTO posts (id, author_id, body, created_at) VALUES ($1, $2, $3, date_trunc('milliseconds', now()))
           ON CONFLICT (id) DO NOTHING
           RETURNING id, author_id, body, created_at)
         SELECT ${POST_COLUMNS} FROM p JOIN feed_users u ON u.id = p.author_id`,
        [id, caller.userId, command.body],
      );
      const row = inserted.rows[0];
      if (row === undefined) {
        // The id is taken: a retry of the same post, or a conflict.
        const { rows } = await tx.client.query<PostRow>(
          `SELECT ${POST_COLUMNS} FROM posts p JOIN feed_users u ON u.id = p.author_id WHERE p.id = $1`,
          [id],
        );
        const first = rows[0];
        if (first?.author_id === caller.userId && first.body === command.body) return { post: toPostView(first), created: false };
        throw new PostIdConflictError(id);
      }
      await enqueue(tx, [
        feedOutboxEvent(options, {
          type: 'PostCreated',
          schemaVersion: 1,
          postId: row.id,
          authorId: row.author_id,
          body: row.body,
          createdAt: row.created_at.getTime(),
        }),
      ]);
      return { post: toPostView(row), created: true };
    });
  } catch (error) {
    if ((error as { code?: string }).code === '23503') throw new NotRegisteredError(caller.userId);
    throw error;
  }
}

/**
 * `GET /posts/:id`: a live post.
 * @throws PostNotFoundError — also for a deleted post or an id that is not a UUID
 */
export async function getPost(pool: Pool, id: string): Promise<PostView> {
  if (!isPostId(id)) throw new PostNotFoundError(id.slice(0, 120));
  const { rows } = await pool.query<PostRow>(
    `SELECT ${POST_COLUMNS} FROM posts p JOIN feed_users u ON u.id = p.author_id WHERE p.id = $1 AND p.deleted_at IS NULL`,
    [id],
  );
  if (rows[0] === undefined) throw new PostNotFoundError(id);
  return toPostView(rows[0]);
}

/**
 * `DELETE /posts/:id`: the author deletes their post. Soft delete (the row
 * keeps `deleted_at`) and a `PostDeleted.v1` event keyed by the author, in ONE
 * transaction; the fan-out removes it from feeds, the indexer from search.
 * Idempotent: deleting a deleted post changes nothing (`deleted: false`).
 *
 * @throws PostNotFoundError, FeedForbiddenError (someone else's post)
 */
export async function deletePost(pool: Pool, caller: Caller, id: string, options: FeedOutboxOptions): Promise<{ deleted: boolean }> {
  if (!isPostId(id)) throw new PostNotFoundError(id.slice(0, 120));
  return inTransaction(pool, async (tx) => {
    // FOR UPDATE: two concurrent deletes of one post write one event.
    const { rows } = await tx.client.query<{ author_id: string; deleted: boolean }>(
      'SELECT author_id, deleted_at IS NOT NULL AS deleted FROM posts WHERE id = $1 FOR UPDATE',
      [id],
    );
    const post = rows[0];
    if (post === undefined) throw new PostNotFoundError(id);
    if (post.author_id !== caller.userId) throw new FeedForbiddenError('only the author can delete a post');
    if (post.deleted) return { deleted: false };
    const updated = await tx.client.query<{ deleted_at: Date }>('UPDATE posts SET deleted_at = now() WHERE id = $1 RETURNING deleted_at', [
      id,
    ]);
    const deletedAt = updated.rows[0]?.deleted_at.getTime() ?? Date.now();
    await enqueue(tx, [
      feedOutboxEvent(options, { type: 'PostDeleted', schemaVersion: 1, postId: id, authorId: post.author_id, deletedAt }),
    ]);
    return { deleted: true };
  });
}
