import { postgresEnv, redisEnv, serviceEnv, z } from '@qls/config';
import { userApiEnv } from '@qls/http-api';

export const configSchema = z.object({
  ...serviceEnv,
  ...postgresEnv,
  ...redisEnv,
  /** Largest JSON body 64 KiB; 10 requests/s per user, 20 at once. */
  ...userApiEnv({ bodyLimitBytes: 64 * 1024, burst: 20 }),
  /** SQS queue (name) the outbox relay publishes NotificationRequested.v1 to. */
  NOTIFICATIONS_QUEUE: z.string().min(1).default('notifications'),
});
export type Config = z.infer<typeof configSchema>;
