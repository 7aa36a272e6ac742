import { postgresEnv, redisEnv, sqsWorkerSchema, type z } from '@qls/config';
import { fanOutWorkerEnv, thresholdsInOrder, thresholdsMessage } from '@qls/feed-distribution';

export { LONG_POLL_SECONDS } from '@qls/config';

export const configSchema = sqsWorkerSchema({ ...postgresEnv, ...redisEnv, ...fanOutWorkerEnv })
  .refine(thresholdsInOrder, thresholdsMessage)
  .refine((c) => c.FANOUT_MAX_PROCESSING_SECONDS >= c.FANOUT_VISIBILITY_TIMEOUT_SECONDS, {
    path: ['FANOUT_MAX_PROCESSING_SECONDS'],
    message: 'must be at least FANOUT_VISIBILITY_TIMEOUT_SECONDS',
  });
export type Config = z.infer<typeof configSchema>;
