import { kafkaEnv, serviceEnv, z } from '@qls/config';
import { authEnv, bodyLimitEnv } from '@qls/http-api';
import { metricsIngestEnv } from '@qls/metrics-ingest';

export const configSchema = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  /** Per-service bearer tokens: JWTs whose `sub` is the service id. */
  ...authEnv,
  /** Largest JSON body; larger ones are answered 413 before auth runs. @defaultValue 1 MiB */
  ...bodyLimitEnv(1024 * 1024),
  ...metricsIngestEnv,
});
export type Config = z.infer<typeof configSchema>;
