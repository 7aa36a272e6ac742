import { kafkaEnv, serviceEnv, z } from '@qls/config';
import { metricsDashboardEnv } from '@qls/metrics-dashboard';

/** Kafka only: the dashboard keeps its view in memory (no database, no Redis, no queue). */
export const configSchema = z.object({ ...serviceEnv, ...kafkaEnv, ...metricsDashboardEnv });
export type Config = z.infer<typeof configSchema>;
