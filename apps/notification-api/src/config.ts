import { postgresEnv, redisEnv, serviceEnv, z } from '@qls/config';
import { authEnv, bodyLimitEnv } from '@qls/http-api';

const positiveInt = z.coerce.number({ error: 'expected a number' }).int('expected an integer').positive();

export const limitsEnv = {
  /** Largest JSON body; larger ones are answered 413. @defaultValue 64 KiB */
  ...bodyLimitEnv(64 * 1024),
  /** Sustained requests per second per user (may be fractional). */
  RATE_LIMIT_PER_SECOND: z.coerce.number({ error: 'expected a number' }).positive().default(10),
  /** Requests a user may make at once after a quiet period. */
  RATE_LIMIT_BURST: positiveInt.default(20),
};

export const configSchema = z.object({
  ...serviceEnv,
  ...postgresEnv,
  ...redisEnv,
  ...authEnv,
  ...limitsEnv,
  /** SQS queue (name) the outbox relay publishes NotificationRequested.v1 to. */
  NOTIFICATIONS_QUEUE: z.string().min(1).default('notifications'),
});
export type Config = z.infer<typeof configSchema>;
