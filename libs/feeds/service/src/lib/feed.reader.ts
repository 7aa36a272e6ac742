import type { Pool } from 'pg';
import { type FeedCache, type FeedEntry, type FeedRebuilder, type FollowGraph, InvalidCursorError } from '@qls/feed-timeline';
import type { AdapterLogger } from '@qls/kafka';
import { FeedUnavailableError, FeedValidationError, NotRegisteredError } from './feed-api.errors';
import type { FeedApiMetrics } from './feed-api.metrics';
import { POST_COLUMNS, type PostRow, type PostView, toPostView } from './posts';
import { type Caller, type FeedApiLimits, feedApiLimits, isPostId, parseFeedQuery } from './requests';

export interface FeedReaderOptions {
  /** Followees with at least this many followers are not pushed to: their recent posts are merged at read time. */
  readonly celebrityThreshold: number;
  /** A user not seen for this many days is not pushed to; their feed is rebuilt on their first read. */
  readonly activeDays: number;
  /** last_active_at is written at most this often per user (seconds), so a read is not a write. */
  readonly touchIntervalSeconds: number;
  /** Lifetime of the "regenerating" flag: a rebuild that died is retried after it. */
  readonly regeneratingTtlSeconds: number;
  /**
   * How long an inactive user's first read waits for the rebuild of their feed
   * (ms): within it the answer is the rebuilt feed, beyond it what is ready,
   * with `regenerating: true`, while the rebuild goes on. @defaultValue 200
   */
  readonly inlineRebuildBudgetMs?: number;
  /** Extra reads to fill a page whose posts were deleted meanwhile. @defaultValue 2 */
  readonly maxRefills?: number;
  readonly limits?: FeedApiLimits;
}

/** A page of the caller's home feed. */
export interface FeedPage {
  readonly items: PostView[];
  /** Pass it as `cursor` for the next page; null at the end. */
  readonly nextCursor: string | null;
  /** The feed is being rebuilt (the caller was inactive): this page is what is ready; read again shortly. */
  readonly regenerating: boolean;
}

export interface FeedReaderDeps {
  readonly pool: Pool;
  readonly cache: FeedCache;
  readonly graph: FollowGraph;
  readonly rebuilder: FeedRebuilder;
  readonly metrics: FeedApiMetrics;
  readonly logger?: AdapterLogger;
}

/** A request-path call to the feed cache: its failure (Redis down, unreachable, timed out) is a {@link FeedUnavailableError}. */
async function fromCache<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw new FeedUnavailableError(error);
  }
}

interface Activity {
  /** Seen longer ago than the active period: the fan-out has not been pushing to this user. */
  readonly inactive: boolean;
}

/**
 * `GET /feed`: the caller's home feed, newest first (the ranking's order).
 *
 * Per read, concurrently: one Postgres statement that reads the caller's
 * activity and, at most once per `touchIntervalSeconds`, updates
 * last_active_at; one for the celebrities they follow (FollowGraph); one
 * Redis EXISTS of the regenerating flag. Then ONE pipelined Redis round trip
 * (FeedCache.read) merging their pushed feed with the celebrities' recent
 * posts — fan-out on read, no write — and ONE query hydrating the page's
 * posts, which skips deleted ones (a page short of them is refilled from the
 * next entries, up to `maxRefills` times).
 *
 * An inactive caller (not pushed to) gets their feed rebuilt from the
 * database on this first read, behind the regenerating flag. The read waits
 * for the rebuild up to `inlineRebuildBudgetMs` — most users follow few
 * accounts, and their rebuild takes a few milliseconds — and then answers the
 * rebuilt feed; a rebuild that outlasts the budget goes on in the background
 * and the answer is what is ready, with `regenerating: true`, as Mastodon
 * does (see {@link FeedReader.regenerate} for why no post falls between the
 * rebuild and the fan-out pushing to them again).
 */
export class FeedReader {
  private readonly limits: FeedApiLimits;
  private readonly maxRefills: number;
  private readonly inlineRebuildBudgetMs: number;
  private readonly running = new Set<Promise<boolean>>();

  constructor(
    private readonly deps: FeedReaderDeps,
    private readonly options: FeedReaderOptions,
  ) {
    this.limits = options.limits ?? feedApiLimits;
    this.maxRefills = options.maxRefills ?? 2;
    this.inlineRebuildBudgetMs = options.inlineRebuildBudgetMs ?? 200;
  }

  /**
   * @throws FeedValidationError (bad limit or cursor, unknown parameter), NotRegisteredError,
   *   FeedUnavailableError (a read of the feed cache failed: Redis down, unreachable or timed out)
   */
  async read(caller: Caller, query: unknown): Promise<FeedPage> {
    const started = performance.now();
    const { limit, cursor } = parseFeedQuery(query, this.limits);
    const { cache, graph, metrics } = this.deps;
    const userId = caller.userId;
    const [activity, celebrities, flagged] = await Promise.all([
      this.touch(userId),
      graph.celebritiesFollowedBy(userId, this.options.celebrityThreshold),
      fromCache(cache.isRegenerating(userId)),
    ]);
    if (activity === undefined) throw new NotRegisteredError(userId);
    let regenerating = flagged;
    if (activity.inactive) {
      regenerating = true;
      if (await fromCache(cache.markRegenerating(userId, this.options.regeneratingTtlSeconds))) {
        metrics.regenerations.inc({ outcome: 'started' });
        regenerating = !(await within(this.regenerateInBackground(userId), this.inlineRebuildBudgetMs));
      }
    }

    const items: PostView[] = [];
    let nextCursor: string | null = null;
    let after = cursor;
    for (let round = 0; round <= this.maxRefills; round++) {
      const page = await this.readEntries(userId, celebrities, limit - items.length, after);
      items.push(...(await this.hydrate(page.items)));
      nextCursor = page.nextCursor;
      if (items.length >= limit || nextCursor === null) break;
      after = nextCursor;
    }
    metrics.celebrityMerges.observe(celebrities.length);
    metrics.feedReadDuration.observe((performance.now() - started) / 1000);
    return { items, nextCursor, regenerating };
  }

  /** Waits for the rebuilds this reader started (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async readEntries(
    userId: string,
    pulledAuthorIds: readonly string[],
    limit: number,
    cursor: string | undefined,
  ): Promise<{ items: FeedEntry[]; nextCursor: string | null }> {
    try {
      return await this.deps.cache.read(userId, { pulledAuthorIds, limit, ...(cursor === undefined ? {} : { cursor }) });
    } catch (error) {
      if (error instanceof InvalidCursorError) throw FeedValidationError.of('cursor', 'not a cursor of this feed (pass nextCursor as is)');
      throw new FeedUnavailableError(error);
    }
  }

  /**
   * Reads whether the user is inactive and, when they are active but
   * last_active_at is older than the touch interval, sets it to now — one
   * statement (its CTEs share a snapshot: `prev` is the value before the
   * update). An inactive user is touched by their feed's rebuild instead, once
   * it is done. Undefined for an unknown user.
   */
  private async touch(userId: string): Promise<Activity | undefined> {
    const { rows } = await this.deps.pool.query<{ inactive: boolean }>(
      `WITH prev AS (
              SELECT id, last_active_at < now() - make_interval(days => $3) AS inactive,
                     last_active_at < now() - make_interval(secs => $2) AS stale
                FROM feed_users WHERE id = $1),
            touched AS (
              UPDATE feed_users u SET last_active_at = now()
                FROM prev
               WHERE u.id = prev.id AND prev.stale AND NOT prev.inactive
              RETURNING u.id)
       SELECT inactive FROM prev`,
      [userId, this.options.touchIntervalSeconds, this.options.activeDays],
    );
    return rows[0];
  }

  /** The posts of `entries` that exist and are not deleted, in the entries' order. */
  private async hydrate(entries: readonly FeedEntry[]): Promise<PostView[]> {
    const ids = entries.map((entry) => entry.postId).filter(isPostId);
    if (ids.length === 0) return [];
    const { rows } = await this.deps.pool.query<PostRow>(
      `SELECT ${POST_COLUMNS} FROM posts p JOIN feed_users u ON u.id = p.author_id
        WHERE p.id = ANY($1::uuid[]) AND p.deleted_at IS NULL`,
      [ids],
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    const posts: PostView[] = [];
    for (const id of ids) {
      const row = byId.get(id.toLowerCase());
      if (row !== undefined) posts.push(toPostView(row));
    }
    return posts;
  }

  /** Starts the rebuild; resolves true once it completed (false when it failed). */
  private regenerateInBackground(userId: string): Promise<boolean> {
    const run = this.regenerate(userId).finally(() => this.running.delete(run));
    this.running.add(run);
    return run;
  }

  /**
   * Rebuilds the feed from the database, marking the user active (from then
   * on the fan-out pushes to them) between the rebuild's replace and its
   * second read (FeedRebuilder.rebuildFeed): a post committed after that
   * second read is fanned out after the user became active, so none falls
   * between. On failure the user stays inactive and the flag expires: a later
   * read retries, at most once per flag lifetime.
   */
  private async regenerate(userId: string): Promise<boolean> {
    const { pool, cache, rebuilder, metrics, logger } = this.deps;
    const started = performance.now();
    try {
      await rebuilder.rebuildFeed(userId, {
        beforeReread: () => pool.query('UPDATE feed_users SET last_active_at = now() WHERE id = $1', [userId]),
      });
      await cache.clearRegenerating(userId);
      metrics.regenerations.inc({ outcome: 'completed' });
      metrics.regenerationDuration.observe((performance.now() - started) / 1000);
      return true;
    } catch (error) {
      metrics.regenerations.inc({ outcome: 'failed' });
      logger?.error(
        { userId, err: error instanceof Error ? error.message : String(error) },
        'feed regeneration failed; retried after the flag expires',
      );
      return false;
    }
  }
}

/** Whether `work` resolved true within `ms` (it goes on either way). */
async function within(work: Promise<boolean>, ms: number): Promise<boolean> {
  if (ms <= 0) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
