import { kafkaEnv, postgresEnv, serviceEnv, z } from '@qls/config';
import { feedIndexerEnv } from '@qls/feed-indexer';

export const configSchema = z.object({ ...serviceEnv, ...postgresEnv, ...kafkaEnv, ...feedIndexerEnv });
export type Config = z.infer<typeof configSchema>;
