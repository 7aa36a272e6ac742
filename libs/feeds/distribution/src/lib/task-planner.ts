import type { FollowGraph } from '@qls/feed-timeline';
import { type MessagePublisher, type OutboundMessage } from '@qls/messaging';
import type { FanOutMetrics } from './fan-out.metrics';
import type { FanOutProgress } from './fan-out-progress';
import { type PlannedTask, encodeTask } from './fan-out-task';

/** What a post's fan-out is about: the action and the post (score = its ranking). */
export interface FanOutPost {
  readonly action: 'add' | 'remove';
  readonly postId: string;
  readonly authorId: string;
  readonly score: number;
  /** Epoch ms of the commit (creation or deletion): the fan-out lag starts here. */
  readonly committedAt: number;
}

export interface FanOutPlannerOptions {
  readonly graph: Pick<FollowGraph, 'followerChunks'>;
  readonly publisher: MessagePublisher;
  /** The `fan-out-tasks` queue URL. */
  readonly queueUrl: string;
  /** Followers per task. @defaultValue 1_000 */
  readonly taskSize?: number;
  /** Tasks per publish call (SendMessageBatch takes 10). @defaultValue 10 */
  readonly batchSize?: number;
  /** Publish calls in flight while the next chunks are read. @defaultValue 8 */
  readonly maxInFlight?: number;
  readonly progress?: FanOutProgress;
  readonly metrics?: FanOutMetrics;
  readonly now?: () => number;
}

/**
 * Splits a post's followers into tasks of ~taskSize by keyset bounds (one
 * indexed query per chunk, the follower list never loaded) and sends them to
 * SQS in batches of 10 while it reads the next chunks. The trace of the event
 * being handled is carried by each message (SqsPublisher stamps it).
 *
 * At-least-once: if sending fails part-way, the caller retries the whole plan;
 * tasks sent twice are applied twice, which changes nothing.
 */
export class FanOutPlanner {
  private readonly taskSize: number;
  private readonly batchSize: number;
  private readonly maxInFlight: number;

  constructor(private readonly options: FanOutPlannerOptions) {
    this.taskSize = options.taskSize ?? 1_000;
    this.batchSize = options.batchSize ?? 10;
    this.maxInFlight = options.maxInFlight ?? 8;
  }

  /** Sends the post's tasks; resolves with their count once SQS accepted every one. */
  async plan(post: FanOutPost, activeSince?: Date): Promise<number> {
    const { graph, publisher, queueUrl, metrics } = this.options;
    const inFlight = new Set<Promise<void>>();
    const failures: unknown[] = [];
    const send = (batch: OutboundMessage[]) => {
      const sending = publisher
        .publish(queueUrl, batch)
        .then(() => void metrics?.tasksQueued.inc({ action: post.action }, batch.length))
        .catch((error: unknown) => void failures.push(error))
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
      return sending;
    };
    let batch: OutboundMessage[] = [];
    let taskIndex = 0;
    for await (const chunk of graph.followerChunks(post.authorId, this.taskSize, activeSince)) {
      const task: PlannedTask = {
        schemaVersion: 1,
        action: post.action,
        postId: post.postId,
        authorId: post.authorId,
        score: post.score,
        afterFollowerId: chunk.afterFollowerId,
        lastFollowerId: chunk.lastFollowerId,
        committedAt: post.committedAt,
        taskIndex: taskIndex++,
        activeSince: activeSince?.getTime() ?? null,
      };
      batch.push({ body: encodeTask(task) });
      if (batch.length < this.batchSize) continue;
      void send(batch);
      batch = [];
      if (inFlight.size >= this.maxInFlight) await Promise.race(inFlight);
      if (failures.length > 0) break;
    }
    if (batch.length > 0 && failures.length === 0) void send(batch);
    await Promise.all(inFlight);
    if (failures.length > 0) throw failures[0];
    if (this.options.progress && (await this.options.progress.planned(post.postId, post.action, taskIndex))) {
      // Every task was applied before the count was recorded: the planner closes the fan-out.
      metrics?.fanOutLag.observe(
        { tier: 'queued', action: post.action },
        Math.max(0, ((this.options.now ?? Date.now)() - post.committedAt) / 1_000),
      );
    }
    return taskIndex;
  }
}
