import type { Counter, Histogram, MetricsRegistry } from '@qls/observability';

export interface FanOutMetrics {
  /** Events of the `posts` log handled, by type and tier (`none` for follow events of a celebrity, etc.). */
  readonly events: Counter<'type' | 'tier'>;
  /** Fan-out tasks sent to SQS, by action. */
  readonly tasksQueued: Counter<'action'>;
  /** Fan-out tasks applied by workers (redeliveries included), by action. */
  readonly tasksApplied: Counter<'action'>;
  /** Feed sorted sets written (one per follower per post; idempotent re-writes included), by tier and action. */
  readonly feedWrites: Counter<'tier' | 'action'>;
  /** Post commit → the post in its last follower's feed (recent posts for `pull`), by tier and action. */
  readonly fanOutLag: Histogram<'tier' | 'action'>;
  /** One task's apply (range query + feed writes). */
  readonly taskDuration: Histogram<'action'>;
  /** Events sent to the dead-letter topic, by error code. */
  readonly deadLettered: Counter<'code'>;
  /** Failed attempts that are retried (Redis, Postgres or SQS unavailable), by stage. */
  readonly failures: Counter<'stage'>;
}

const lagBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

export function createFanOutMetrics(registry: MetricsRegistry): FanOutMetrics {
  return {
    events: registry.counter({
      name: 'feed_fanout_events_total',
      help: 'Events of the posts log handled by the fan-out consumer, by type and tier',
      labelNames: ['type', 'tier'],
    }),
    tasksQueued: registry.counter({
      name: 'feed_fanout_tasks_queued_total',
      help: 'Fan-out tasks (slices of ~1,000 followers) sent to SQS',
      labelNames: ['action'],
    }),
    tasksApplied: registry.counter({
      name: 'feed_fanout_tasks_applied_total',
      help: 'Fan-out tasks applied to the feed caches (redeliveries included)',
      labelNames: ['action'],
    }),
    feedWrites: registry.counter({
      name: 'feed_fanout_feed_writes_total',
      help: 'Feeds written (one per follower per post), by tier and action; rate() gives feed writes/s',
      labelNames: ['tier', 'action'],
    }),
    fanOutLag: registry.histogram({
      name: 'feed_fanout_lag_seconds',
      help: "From the post's commit to the post in its last follower's feed (pull: in the author's recent posts)",
      labelNames: ['tier', 'action'],
      buckets: lagBuckets,
    }),
    taskDuration: registry.histogram({
      name: 'feed_fanout_task_duration_seconds',
      help: 'Duration of applying one fan-out task',
      labelNames: ['action'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    deadLettered: registry.counter({
      name: 'feed_fanout_dead_lettered_total',
      help: 'Unreadable posts-log events sent to the dead-letter topic, by error code',
      labelNames: ['code'],
    }),
    failures: registry.counter({
      name: 'feed_fanout_failures_total',
      help: 'Failed attempts that are retried (the partition or the task waits), by stage',
      labelNames: ['stage'],
    }),
  };
}
