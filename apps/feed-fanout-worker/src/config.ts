import { postgresEnv, redisEnv, serviceEnv, sqsEnv, z } from '@qls/config';
import { fanOutWorkerEnv, thresholdsInOrder, thresholdsMessage } from '@qls/feed-fanout';

/** WaitTimeSeconds of every receive: the SQS maximum, so an idle queue costs one request per 20 s. */
export const LONG_POLL_SECONDS = 20;

const positiveInt = z.coerce.number({ error: 'expected a number' }).int('expected an integer').positive();

export const configSchema = z
  .object({
    ...serviceEnv,
    ...postgresEnv,
    ...redisEnv,
    ...sqsEnv,
    ...fanOutWorkerEnv,
    /** Stopping waits for the 20 s long poll in progress, then for the tasks in flight. */
    SHUTDOWN_TIMEOUT_MS: positiveInt.default(50_000),
  })
  .refine(thresholdsInOrder, thresholdsMessage)
  .refine((c) => c.FANOUT_MAX_PROCESSING_SECONDS >= c.FANOUT_VISIBILITY_TIMEOUT_SECONDS, {
    path: ['FANOUT_MAX_PROCESSING_SECONDS'],
    message: 'must be at least FANOUT_VISIBILITY_TIMEOUT_SECONDS',
  })
  .refine((c) => c.SHUTDOWN_TIMEOUT_MS > LONG_POLL_SECONDS * 1000, {
    path: ['SHUTDOWN_TIMEOUT_MS'],
    message: `must be more than the ${LONG_POLL_SECONDS} s long poll a stopping worker waits for`,
  });
export type Config = z.infer<typeof configSchema>;
