import { kafkaEnv, postgresEnv, redisEnv, serviceEnv, sqsEnv, z } from '@qls/config';
import { fanOutConsumerEnv, thresholdsInOrder, thresholdsMessage } from '@qls/feed-distribution';

export const configSchema = z
  .object({ ...serviceEnv, ...postgresEnv, ...redisEnv, ...kafkaEnv, ...sqsEnv, ...fanOutConsumerEnv })
  .refine(thresholdsInOrder, thresholdsMessage);
export type Config = z.infer<typeof configSchema>;
