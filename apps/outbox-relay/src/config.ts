import { kafkaEnv, postgresEnv, serviceEnv, sqsEnv, z } from '@qls/config';
import { outboxRelayEnv } from '@qls/outbox';

export const configSchema = z.object({ ...serviceEnv, ...postgresEnv, ...kafkaEnv, ...sqsEnv, ...outboxRelayEnv });
export type Config = z.infer<typeof configSchema>;
