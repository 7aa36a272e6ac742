import { kafkaEnv, serviceEnv, z } from '@qls/config';
import { operatorAuthEnv } from '@qls/http-api';
import { metricsDashboardEnv } from '@qls/metrics-views';

/** Kafka only: the dashboard keeps its view in memory (no database, no Redis, no queue); operator tokens for /dashboard/*. */
export const configSchema = z.object({ ...serviceEnv, ...kafkaEnv, ...metricsDashboardEnv, ...operatorAuthEnv });
export type Config = z.infer<typeof configSchema>;
