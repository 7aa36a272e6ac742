import type { Pool } from 'pg';
import type { FeedCache, FollowGraph, Ranking } from '@qls/feed-timeline';
import { recency } from '@qls/feed-timeline';
import type { FeedEvent, Followed, PostCreated, PostDeleted, Unfollowed } from '@qls/feed-contracts';
import type { FanOutMetrics } from './fan-out.metrics';
import type { FanOutPlanner, FanOutPost } from './task-planner';
import type { FanOutTaskApplier } from './task-applier';
import { type FanOutThresholds, type FanOutTier, checkThresholds, defaultThresholds, tierOf } from './tiers';

export interface FeedFanOutOptions {
  readonly graph: FollowGraph;
  readonly cache: FeedCache;
  readonly planner: FanOutPlanner;
  readonly applier: FanOutTaskApplier;
  /** Unfollow also removes the followee's posts older than their recent-posts set (from `posts`). Optional. */
  readonly pool?: Pool;
  /** @defaultValue direct below 1,000 followers, pull from 100,000 */
  readonly thresholds?: FanOutThresholds;
  /** @defaultValue recency */
  readonly ranking?: Ranking;
  /** Only followers seen within this period are pushed to; undefined pushes to every follower. */
  readonly activePeriodMs?: number;
  /** Followers per chunk (direct) and per task (queued). @defaultValue 1_000 */
  readonly chunkSize?: number;
  readonly metrics?: FanOutMetrics;
  readonly now?: () => number;
}

/** What handling an event did: the tier of a post event, or `follow` / `none` for follow events. */
export type FanOutOutcome = FanOutTier | 'follow' | 'none';

/**
 * The `fan-out` consumer group's handler of the `posts` log (chapter System 3):
 *
 * - **PostCreated** → the author's recent posts always get it; then by the
 *   author's follower count: `direct` writes it into each active follower's
 *   feed here (one script call per ≤ 1,000), `queued` sends SQS tasks of ~1,000
 *   followers for the workers, `pull` writes nothing (readers merge).
 * - **PostDeleted** → out of the recent posts (tombstoned: no later add brings
 *   it back), then out of the feeds by the same tiers.
 * - **Followed** → the followee's recent posts into the follower's feed
 *   (nothing for a celebrity: merged at read time).
 * - **Unfollowed** → the followee's posts out of the follower's feed.
 *
 * The graph is read when the event is handled, not as it was when the event
 * was written, so replaying the log converges on the current graph; every
 * write is idempotent, so a redelivered or replayed event changes nothing.
 *
 * Crossing the celebrity threshold: the first event handled in the pull tier
 * marks the author merged on read for good (FollowGraph.markMergedOnRead), so
 * readers keep merging their recent posts after they drop below the
 * threshold — the posts made as a celebrity were pushed nowhere. A merged
 * author's posts pushed meanwhile are noted (`pushed_until`), and deleting in
 * the pull tier a post that may have been pushed removes it from the feeds
 * by the push tiers too.
 */
export class FeedFanOut {
  private readonly thresholds: FanOutThresholds;
  private readonly ranking: Ranking;
  private readonly chunkSize: number;
  private readonly now: () => number;

  constructor(private readonly options: FeedFanOutOptions) {
    this.thresholds = checkThresholds(options.thresholds ?? defaultThresholds);
    this.ranking = options.ranking ?? recency;
    this.chunkSize = options.chunkSize ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  async handle(event: FeedEvent): Promise<FanOutOutcome> {
    const outcome = await this.dispatch(event);
    this.options.metrics?.events.inc({ type: event.type, tier: outcome });
    return outcome;
  }

  private dispatch(event: FeedEvent): Promise<FanOutOutcome> {
    switch (event.type) {
      case 'PostCreated':
        return this.postCreated(event);
      case 'PostDeleted':
        return this.postDeleted(event);
      case 'Followed':
        return this.followed(event);
      case 'Unfollowed':
        return this.unfollowed(event);
    }
  }

  private async postCreated(event: PostCreated): Promise<FanOutTier> {
    const entry = { postId: event.postId, score: this.ranking(event) };
    await this.options.cache.addRecent(event.authorId, entry);
    return this.fanOut({ action: 'add', postId: event.postId, authorId: event.authorId, score: entry.score, committedAt: event.createdAt });
  }

  private async postDeleted(event: PostDeleted): Promise<FanOutTier> {
    await this.options.cache.removeRecent(event.authorId, event.postId);
    return this.fanOut({ action: 'remove', postId: event.postId, authorId: event.authorId, score: 0, committedAt: event.deletedAt });
  }

  private async fanOut(post: FanOutPost): Promise<FanOutTier> {
    const { graph } = this.options;
    const author = await graph.authorState(post.authorId);
    const tier = tierOf(author.followerCount, this.thresholds);
    if (tier === 'pull') {
      if (author.mergedSince === null) await graph.markMergedOnRead(post.authorId);
      // Pushed before the author was merged, or while they were below the threshold again.
      if (post.action === 'remove' && (author.mergedSince === null || (await graph.mayBePushed(post.postId)))) {
        return this.push(post, this.thresholds.directBelow < this.thresholds.celebrityAt ? 'queued' : 'direct');
      }
    } else if (author.mergedSince !== null && post.action === 'add') {
      await graph.notePushed(post.authorId, post.committedAt);
    }
    return this.push(post, tier);
  }

  private async push(post: FanOutPost, tier: FanOutTier): Promise<FanOutTier> {
    const { graph, planner, applier, metrics } = this.options;
    const activeSince = this.options.activePeriodMs === undefined ? undefined : new Date(this.now() - this.options.activePeriodMs);
    if (tier === 'queued') {
      // The planner (or the worker applying the last task) observes the lag.
      await planner.plan(post, activeSince);
      return tier;
    }
    if (tier === 'direct') {
      for await (const chunk of graph.followerChunks(post.authorId, this.chunkSize, activeSince)) {
        await applier.applyRange({ ...post, ...chunk }, tier, activeSince);
      }
    }
    metrics?.fanOutLag.observe({ tier, action: post.action }, Math.max(0, (this.now() - post.committedAt) / 1_000));
    return tier;
  }

  private async followed(event: Followed): Promise<FanOutOutcome> {
    const { cache, graph } = this.options;
    const followee = await graph.authorState(event.followeeId);
    if (tierOf(followee.followerCount, this.thresholds) === 'pull') {
      if (followee.mergedSince === null) await graph.markMergedOnRead(event.followeeId);
      return 'none';
    }
    if (followee.mergedSince !== null) return 'none'; // merged at read time, as a celebrity's
    const recent = await cache.recent(event.followeeId, cache.recentLength);
    await cache.addEntries(event.followerId, recent);
    this.options.metrics?.feedWrites.inc({ tier: 'direct', action: 'backfill' });
    return 'follow';
  }

  private async unfollowed(event: Unfollowed): Promise<FanOutOutcome> {
    const { cache, pool } = this.options;
    // Whatever the followee's tier now, posts pushed while it was smaller may be in the feed.
    const ids = new Set((await cache.recent(event.followeeId, cache.recentLength)).map((e) => e.postId));
    if (pool) {
      const { rows } = await pool.query<{ id: string }>(`SELECT id FROM posts WHERE author_id = $1 ORDER BY created_at DESC LIMIT $2`, [
        event.followeeId,
        cache.feedLength,
      ]);
      for (const row of rows) ids.add(row.id);
    }
    await cache.removeEntries(event.followerId, [...ids]);
    this.options.metrics?.feedWrites.inc({ tier: 'direct', action: 'unfollow' });
    return 'follow';
  }
}
