import { positiveInt, postgresEnv, redisEnv, sqsWorkerSchema, z } from '@qls/config';

export { LONG_POLL_SECONDS } from '@qls/config';

export const configSchema = sqsWorkerSchema({
  ...postgresEnv,
  ...redisEnv,
  /** Queue name; `notifications.fifo` selects the FIFO path (per-user order). */
  NOTIFICATIONS_QUEUE: z.string().min(1).default('notifications'),
  NOTIFICATIONS_DLQ: z.string().min(1).default('notifications-dlq'),
  /**
   * The queue's RedrivePolicy maxReceiveCount (infra/provision/topology.json): a
   * safety net well above NOTIFICATIONS_MAX_ATTEMPTS (ADR 0005).
   */
  NOTIFICATIONS_MAX_RECEIVES: positiveInt.default(10),
  /** Failed provider attempts after which the worker dead-letters a notification, with the reason. */
  NOTIFICATIONS_MAX_ATTEMPTS: positiveInt.default(3),
  WORKER_CONCURRENCY: positiveInt.max(1_000).default(50),
  /** Receive loops (long polls) at once: one caps the worker at ~10 messages per receive round trip. */
  WORKER_RECEIVERS: positiveInt.max(16).default(2),
  WORKER_VISIBILITY_TIMEOUT_SECONDS: positiveInt.max(43_200).default(30),
  /** Longest a send may hold a message (heartbeats stop after it); also the lease length. */
  WORKER_MAX_PROCESSING_SECONDS: positiveInt.max(43_200).default(300),
  /** JSON per channel, e.g. {"sms":{"transientRate":0.05,"latencyMs":50}} — local providers only. */
  LOCAL_PROVIDER_FAULTS: z
    .string()
    .default('{}')
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as Record<string, { transientRate?: number; permanent?: boolean; latencyMs?: number }>;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected JSON' });
        return z.NEVER;
      }
    }),
})
  .refine((c) => c.NOTIFICATIONS_MAX_RECEIVES > c.NOTIFICATIONS_MAX_ATTEMPTS, {
    path: ['NOTIFICATIONS_MAX_RECEIVES'],
    message: 'must be more than NOTIFICATIONS_MAX_ATTEMPTS: the queue would dead-letter before the worker, without a reason',
  })
  .refine((c) => c.WORKER_MAX_PROCESSING_SECONDS >= c.WORKER_VISIBILITY_TIMEOUT_SECONDS, {
    path: ['WORKER_MAX_PROCESSING_SECONDS'],
    message: 'must be at least WORKER_VISIBILITY_TIMEOUT_SECONDS',
  });
export type Config = z.infer<typeof configSchema>;
