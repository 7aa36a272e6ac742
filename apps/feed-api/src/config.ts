import { postgresEnv, redisEnv, serviceEnv, z } from '@qls/config';
import { feedApiEnv } from '@qls/feed-api';
import { authEnv, bodyLimitEnv } from '@qls/http-api';

const positiveInt = z.coerce.number({ error: 'expected a number' }).int('expected an integer').positive();

export const limitsEnv = {
  /** Largest JSON body; larger ones are answered 413 (a post is at most 5,000 characters). @defaultValue 32 KiB */
  ...bodyLimitEnv(32 * 1024),
  /** Sustained requests per second per user (may be fractional). */
  RATE_LIMIT_PER_SECOND: z.coerce.number({ error: 'expected a number' }).positive().default(10),
  /** Requests a user may make at once after a quiet period. */
  RATE_LIMIT_BURST: positiveInt.default(30),
};

export const configSchema = z.object({
  ...serviceEnv,
  ...postgresEnv,
  ...redisEnv,
  ...authEnv,
  ...limitsEnv,
  ...feedApiEnv,
});
export type Config = z.infer<typeof configSchema>;
