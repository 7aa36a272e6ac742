import { z } from 'zod';

/** SQS queue of fan-out tasks (+ `fan-out-tasks-dlq` after 3 receives). */
export const FAN_OUT_TASKS_QUEUE = 'fan-out-tasks';

/**
 * One slice of an author's followers to push a post to (or remove it from):
 * the followers with `afterFollowerId < follower_id <= lastFollowerId` in
 * follower-id order (keyset bounds, so a task never depends on OFFSET and the
 * fan-out service never loads the follower list). Applying a task twice
 * changes nothing (ZADD/ZREM are idempotent).
 */
export const fanOutTaskV1 = z.looseObject({
  schemaVersion: z.literal(1),
  action: z.enum(['add', 'remove']),
  postId: z.uuid(),
  authorId: z.string().min(1).max(100),
  /** Feed score (ranking of the post). */
  score: z.number(),
  /** Exclusive lower bound; null = from the first follower. */
  afterFollowerId: z.string().nullable(),
  /** Inclusive upper bound. */
  lastFollowerId: z.string().min(1),
  /** Epoch ms the post was committed: fan-out lag is measured from it. */
  committedAt: z.number().int().nonnegative(),
});
export type FanOutTask = z.infer<typeof fanOutTaskV1>;

export function parseFanOutTask(value: string): FanOutTask {
  return fanOutTaskV1.parse(JSON.parse(value));
}
