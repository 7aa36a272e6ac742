import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { FeedCache, FollowGraph } from '@qls/feed-timeline';
import type { FanOutMetrics } from './fan-out.metrics';
import { FanOutProgress } from './fan-out-progress';
import type { PlannedTask } from './fan-out-task';
import type { FanOutTier } from './tiers';

export interface FanOutTaskApplierOptions {
  readonly graph: Pick<FollowGraph, 'followersInRange'>;
  readonly cache: FeedCache;
  readonly progress?: FanOutProgress;
  readonly metrics?: FanOutMetrics;
  readonly now?: () => number;
}

/** The bounds and post of one slice of followers (a task, or a chunk of a direct fan-out). */
export type FollowerRange = Pick<PlannedTask, 'action' | 'postId' | 'authorId' | 'score' | 'afterFollowerId' | 'lastFollowerId'>;

/**
 * Applies fan-out tasks: the followers in the task's keyset bounds (active
 * ones only, as the planner decided), then one script call per ≤ 1,000 of
 * them (FeedCache.addToFeeds / removeFromFeeds). Idempotent: applying a task
 * twice, or after the post was deleted, changes nothing.
 */
export class FanOutTaskApplier {
  private readonly now: () => number;

  constructor(private readonly options: FanOutTaskApplierOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Writes the post into (or out of) the feeds of the range's followers; returns how many feeds. */
  async applyRange(range: FollowerRange, tier: FanOutTier, activeSince: Date | undefined): Promise<number> {
    const { graph, cache, metrics } = this.options;
    const followers = await graph.followersInRange(range.authorId, range.afterFollowerId, range.lastFollowerId, activeSince);
    if (followers.length === 0) return 0;
    if (range.action === 'add') await cache.addToFeeds(followers, { postId: range.postId, score: range.score });
    else await cache.removeFromFeeds(followers, range.postId);
    metrics?.feedWrites.inc({ tier, action: range.action }, followers.length);
    return followers.length;
  }

  /** Applies an SQS task; observes the fan-out lag when it was the post's last task. */
  async apply(task: PlannedTask): Promise<number> {
    const { metrics, progress } = this.options;
    const started = performance.now();
    const activeSince = task.activeSince === undefined || task.activeSince === null ? undefined : new Date(task.activeSince);
    const written = await this.applyRange(task, 'queued', activeSince);
    metrics?.taskDuration.observe({ action: task.action }, (performance.now() - started) / 1_000);
    metrics?.tasksApplied.inc({ action: task.action });
    if (progress && task.taskIndex !== undefined && (await progress.taskDone(task.postId, task.action, task.taskIndex))) {
      metrics?.fanOutLag.observe({ tier: 'queued', action: task.action }, Math.max(0, (this.now() - task.committedAt) / 1_000));
    }
    return written;
  }
}

/** What a fan-out app writes feeds with: the graph in Postgres, the feeds and the progress sets in Redis, and the applier on them. */
export interface FanOutStores {
  readonly graph: FollowGraph;
  readonly cache: FeedCache;
  readonly progress: FanOutProgress;
  readonly applier: FanOutTaskApplier;
}

/**
 * The feed writers of the fan-out consumer and its workers, from the settings
 * both read (`fanOutEnv`): feeds of FEED_LENGTH (FEED_RECENT_LENGTH recent),
 * written FANOUT_TASK_SIZE followers per script call.
 */
export function fanOutStores(
  config: { readonly FEED_LENGTH: number; readonly FEED_RECENT_LENGTH: number; readonly FANOUT_TASK_SIZE: number },
  { pool, redis, metrics }: { readonly pool: Pool; readonly redis: Redis; readonly metrics: FanOutMetrics },
): FanOutStores {
  const graph = new FollowGraph(pool);
  const cache = new FeedCache(redis, {
    feedLength: config.FEED_LENGTH,
    recentLength: config.FEED_RECENT_LENGTH,
    chunkSize: config.FANOUT_TASK_SIZE,
  });
  const progress = new FanOutProgress(redis);
  return { graph, cache, progress, applier: new FanOutTaskApplier({ graph, cache, progress, metrics }) };
}
