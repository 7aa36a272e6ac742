import { kafkaEnv, postgresEnv, serviceEnv, z } from '@qls/config';
import { operatorAuthEnv } from '@qls/http-api';
import { metricsStorageEnv } from '@qls/metrics-point-store';

export const configSchema = z.object({ ...serviceEnv, ...postgresEnv, ...kafkaEnv, ...metricsStorageEnv, ...operatorAuthEnv });
export type Config = z.infer<typeof configSchema>;
