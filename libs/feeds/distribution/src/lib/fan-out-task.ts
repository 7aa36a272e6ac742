import { z } from 'zod';
import { type FanOutTask, fanOutTaskV1 } from '@qls/feed-contracts';
import { PermanentError } from '@qls/messaging';

/**
 * The task as this planner writes it: the contract's fields plus two optional
 * ones old readers ignore (the schema is loose) — its index among the post's
 * tasks (to tell when the last one is applied) and the activity cut-off the
 * planner chose (so planner and worker agree on who is an active follower).
 */
export const plannedTaskSchema = fanOutTaskV1.extend({
  taskIndex: z.number().int().nonnegative().optional(),
  /** Epoch ms: only followers seen since then are written; null = every follower. */
  activeSince: z.number().int().nullable().optional(),
});
export type PlannedTask = FanOutTask & { readonly taskIndex?: number | undefined; readonly activeSince?: number | null | undefined };

export function encodeTask(task: PlannedTask): string {
  return JSON.stringify(task);
}

/** Parses a task message body; an unreadable one is a PermanentError (the worker sends it to the DLQ at once). */
export function decodeTask(body: string): PlannedTask {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new PermanentError('FANOUT.TASK_UNREADABLE', `fan-out task is not JSON: ${(error as Error).message}`);
  }
  const parsed = plannedTaskSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PermanentError(
      'FANOUT.TASK_INVALID',
      `fan-out task invalid: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data as PlannedTask;
}
