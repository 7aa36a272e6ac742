import { kafkaEnv, postgresEnv, serviceEnv, z } from '@qls/config';
import { metricsStorageEnv } from '@qls/metrics-storage';

export const configSchema = z.object({ ...serviceEnv, ...postgresEnv, ...kafkaEnv, ...metricsStorageEnv });
export type Config = z.infer<typeof configSchema>;
