import type { Pool } from 'pg';
import type { FeedRebuilder } from '@qls/feed-timeline';

export interface RebuildAllOptions {
  /** Only users seen since then get their feed rebuilt (the others are rebuilt on their first read). */
  readonly activeSince?: Date;
  /** Feeds rebuilt at once. @defaultValue 16 */
  readonly concurrency?: number;
  /** Rows per keyset page of users / authors. @defaultValue 500 */
  readonly pageSize?: number;
  readonly onProgress?: (done: { authors: number; users: number }) => void;
}

/**
 * Rebuilds every cache from the database with the rebuilder's ranking: first
 * each author's recent posts (what celebrities' readers merge and follows
 * backfill from), then each user's pushed feed — the chapter's "replay if the
 * ranking algorithm changes", from the source of truth. Walks authors and users
 * by keyset pages, `concurrency` at a time; safe to run while the fan-out runs:
 * each replace is followed by a second read that puts back what the fan-out
 * added and takes out what it removed meanwhile (FeedRebuilder.rebuildFeed).
 */
export async function rebuildAllFeeds(
  pool: Pool,
  rebuilder: FeedRebuilder,
  options: RebuildAllOptions = {},
): Promise<{ authors: number; users: number }> {
  const concurrency = options.concurrency ?? 16;
  const pageSize = options.pageSize ?? 500;
  const done = { authors: 0, users: 0 };
  for await (const authors of pages(
    pool,
    'SELECT DISTINCT author_id AS id FROM posts WHERE ($1::text IS NULL OR author_id > $1) ORDER BY author_id LIMIT $2',
    pageSize,
  )) {
    await inParallel(authors, concurrency, (author) => rebuilder.rebuildRecent(author));
    done.authors += authors.length;
    options.onProgress?.({ ...done });
  }
  const active = options.activeSince ?? null;
  for await (const users of pages(
    pool,
    `SELECT id FROM feed_users WHERE ($1::text IS NULL OR id > $1) AND ($3::timestamptz IS NULL OR last_active_at >= $3) ORDER BY id LIMIT $2`,
    pageSize,
    [active],
  )) {
    await inParallel(users, concurrency, (user) => rebuilder.rebuildFeed(user));
    done.users += users.length;
    options.onProgress?.({ ...done });
  }
  return done;
}

async function* pages(pool: Pool, sql: string, pageSize: number, extra: unknown[] = []): AsyncIterable<string[]> {
  let after: string | null = null;
  for (;;) {
    const { rows }: { rows: { id: string }[] } = await pool.query<{ id: string }>(sql, [after, pageSize, ...extra]);
    if (rows.length === 0) return;
    yield rows.map((row) => row.id);
    if (rows.length < pageSize) return;
    after = (rows[rows.length - 1] as { id: string }).id;
  }
}

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
