import { postgresEnv, redisEnv, serviceEnv, z } from '@qls/config';
import { feedApiEnv } from '@qls/feed-service';
import { userApiEnv } from '@qls/http-api';

export const configSchema = z.object({
  ...serviceEnv,
  ...postgresEnv,
  ...redisEnv,
  /** Largest JSON body 32 KiB (a post is at most 5,000 characters); 10 requests/s per user, 30 at once. */
  ...userApiEnv({ bodyLimitBytes: 32 * 1024, burst: 30 }),
  ...feedApiEnv,
});
export type Config = z.infer<typeof configSchema>;
