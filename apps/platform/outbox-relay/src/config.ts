import { kafkaEnv, postgresEnv, serviceEnv, sqsEnv, z } from '@qls/config';
import { operatorAuthEnv } from '@qls/http-api';
import { outboxRelayEnv } from '@qls/outbox';

export const configSchema = z.object({ ...serviceEnv, ...postgresEnv, ...kafkaEnv, ...sqsEnv, ...outboxRelayEnv, ...operatorAuthEnv });
export type Config = z.infer<typeof configSchema>;
