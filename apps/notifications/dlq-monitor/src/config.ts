import { serviceEnv, sqsEnv, z } from '@qls/config';
import { operatorAuthEnv } from '@qls/http-api';

const queueName = z.string().regex(/^[\w-]{1,80}(\.fifo)?$/, 'expected an SQS queue name');

export const configSchema = z.object({
  ...serviceEnv,
  ...sqsEnv,
  ...operatorAuthEnv,
  /** The queue the notification worker consumes; redrive sends dead letters back here. */
  NOTIFICATIONS_QUEUE: queueName.default('notifications'),
  /** Its dead-letter queue; at boot the monitor checks that the queue's RedrivePolicy targets it. */
  NOTIFICATIONS_DLQ: queueName.default('notifications-dlq'),
  /** How often the sqs_dlq_* gauges are refreshed. Every refresh peeks at up to 10 dead letters. */
  DLQ_POLL_INTERVAL_MS: z.coerce
    .number({ error: 'expected a number' })
    .int('expected an integer')
    .min(100, 'expected at least 100 (ms)')
    .default(15_000),
});
export type Config = z.infer<typeof configSchema>;
