import { kafkaEnv, serviceEnv, z } from '@qls/config';
import { authEnv, bodyLimitEnv } from '@qls/http-api';
import { metricsIngestEnv } from '@qls/metrics-ingestion';

export const configSchema = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  /** Per-service bearer tokens: JWTs whose `sub` is the service id. */
  ...authEnv,
  /** Largest JSON body; larger ones are answered 413 before auth runs. @defaultValue 1 MiB */
  ...bodyLimitEnv(1024 * 1024),
  /**
   * Each service's request budget, per replica (in memory: the ingest has no
   * Redis): sustained requests per second (may be fractional)...
   */
  RATE_LIMIT_PER_SECOND: z.coerce.number({ error: 'expected a number' }).positive().default(50),
  /** ...and requests at once after a quiet period. Beyond it POST /metrics is a 429 with Retry-After. */
  RATE_LIMIT_BURST: z.coerce.number({ error: 'expected a number' }).int('expected an integer').min(1).default(200),
  ...metricsIngestEnv,
});
export type Config = z.infer<typeof configSchema>;
