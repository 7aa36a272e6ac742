import { kafkaEnv, postgresEnv, serviceEnv, z } from '@qls/config';
import { feedIndexerEnv } from '@qls/feed-indexing';

export const configSchema = z.object({ ...serviceEnv, ...postgresEnv, ...kafkaEnv, ...feedIndexerEnv });
export type Config = z.infer<typeof configSchema>;
