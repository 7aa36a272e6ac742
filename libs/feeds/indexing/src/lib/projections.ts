import type { Pool } from 'pg';
import type { FeedEvent, PostCreated } from '@qls/feed-contracts';

/** What one {@link PostsProjection.apply} changed. */
export interface ProjectionWrite {
  /** Rows inserted, updated or deleted (a replayed event that changes nothing counts 0). */
  readonly rowsWritten: number;
}

/**
 * A read model built from the `posts` log by one consumer group. `apply`
 * receives a partition's events in log order and must be idempotent: applying
 * the same events again (a redelivery, a replay of the group from the start)
 * leaves the same rows. Applying a list in two halves, one after the other,
 * must give the same rows as applying it at once (the consumer splits a batch
 * to isolate an event the database refuses).
 */
export interface PostsProjection {
  /** `search`, `analytics`: the metrics label. */
  readonly name: string;
  apply(events: readonly FeedEvent[]): Promise<ProjectionWrite>;
}

const epochMs = `'epoch'::timestamptz + ms * interval '1 millisecond'`;

/**
 * `post_search`, the full-text index (infra/migrations/0005_feed.sql): a row
 * per live post, upserted on PostCreated, deleted on PostDeleted; follows are
 * not its business. A batch is reduced to each post's last state (so a post
 * created and deleted in the same batch is simply absent) and written in ONE
 * statement — atomic without a transaction, one round trip whatever the size.
 * Replaying the log from the start rebuilds the same rows: the upsert rewrites
 * a row only when it differs, and a deleted post's delete comes after its
 * creation on the same partition (both are keyed by author).
 */
export class SearchProjection implements PostsProjection {
  readonly name = 'search';

  constructor(private readonly pool: Pool) {}

  async apply(events: readonly FeedEvent[]): Promise<ProjectionWrite> {
    const last = new Map<string, PostCreated | null>();
    for (const event of events) {
      if (event.type === 'PostCreated') last.set(event.postId, event);
      else if (event.type === 'PostDeleted') last.set(event.postId, null);
    }
    if (last.size === 0) return { rowsWritten: 0 };
    const upserts = [...last.values()].filter((event): event is PostCreated => event !== null);
    const deletes = [...last].filter(([, event]) => event === null).map(([postId]) => postId);
    const { rows } = await this.pool.query<{ upserted: number; deleted: number }>(
      `WITH upserted AS (
         INSERT INTO post_search (post_id, author_id, body, created_at)
         SELECT post_id, author_id, body, ${epochMs}
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[]) AS p(post_id, author_id, body, ms)
         ON CONFLICT (post_id) DO UPDATE
            SET author_id = EXCLUDED.author_id, body = EXCLUDED.body, created_at = EXCLUDED.created_at
          WHERE (post_search.author_id, post_search.body, post_search.created_at)
                IS DISTINCT FROM (EXCLUDED.author_id, EXCLUDED.body, EXCLUDED.created_at)
         RETURNING 1
       ), deleted AS (
         DELETE FROM post_search WHERE post_id = ANY($5::uuid[]) RETURNING 1
       )
       SELECT (SELECT count(*) FROM upserted)::int AS upserted, (SELECT count(*) FROM deleted)::int AS deleted`,
      [upserts.map((e) => e.postId), upserts.map((e) => e.authorId), upserts.map((e) => e.body), upserts.map((e) => e.createdAt), deletes],
    );
    const row = rows[0];
    return { rowsWritten: (row?.upserted ?? 0) + (row?.deleted ?? 0) };
  }
}

/**
 * `post_analytics`: one row per post seen on the log, with a `deleted` flag;
 * posts per author per hour are the view `post_stats_hourly` over it. Writes
 * commute and repeat safely: a creation inserts the row unless it is there
 * (ON CONFLICT DO NOTHING, so a replayed creation never "undeletes"), a
 * deletion only ever sets the flag. One statement per batch; a post created
 * and deleted in the same batch is inserted already flagged (the statement's
 * sub-statements share one snapshot, so an UPDATE could not see the INSERT).
 * A deletion whose creation was never seen (before the log's retention) has
 * no creation time and changes nothing.
 */
export class AnalyticsProjection implements PostsProjection {
  readonly name = 'analytics';

  constructor(private readonly pool: Pool) {}

  async apply(events: readonly FeedEvent[]): Promise<ProjectionWrite> {
    const created = new Map<string, PostCreated>();
    const deleted = new Set<string>();
    for (const event of events) {
      if (event.type === 'PostCreated') created.set(event.postId, event);
      else if (event.type === 'PostDeleted') deleted.add(event.postId);
    }
    if (created.size === 0 && deleted.size === 0) return { rowsWritten: 0 };
    const inserts = [...created.values()];
    const flagOnly = [...deleted].filter((postId) => !created.has(postId));
    const { rows } = await this.pool.query<{ inserted: number; flagged: number }>(
      `WITH inserted AS (
         INSERT INTO post_analytics (post_id, author_id, created_at, deleted)
         SELECT post_id, author_id, ${epochMs}, deleted
           FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::boolean[]) AS p(post_id, author_id, ms, deleted)
         ON CONFLICT (post_id) DO UPDATE SET deleted = true WHERE EXCLUDED.deleted AND NOT post_analytics.deleted
         RETURNING 1
       ), flagged AS (
         UPDATE post_analytics SET deleted = true WHERE post_id = ANY($5::uuid[]) AND NOT deleted RETURNING 1
       )
       SELECT (SELECT count(*) FROM inserted)::int AS inserted, (SELECT count(*) FROM flagged)::int AS flagged`,
      [
        inserts.map((e) => e.postId),
        inserts.map((e) => e.authorId),
        inserts.map((e) => e.createdAt),
        inserts.map((e) => deleted.has(e.postId)),
        flagOnly,
      ],
    );
    const row = rows[0];
    return { rowsWritten: (row?.inserted ?? 0) + (row?.flagged ?? 0) };
  }
}

/**
 * Whether Postgres refused a statement because of the data in it: SQLSTATE
 * class 22 (data exception, e.g. a NUL character in text) or 23 (integrity
 * constraint). Those fail again with the same events; anything else
 * (connection, timeout, lock, a missing table) is retried.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23)[0-9A-Z]{3}$/.test(code);
}
