export { ConfigError, loadConfig, loadConfigOrExit } from './lib/load-config';
export type { Env } from './lib/load-config';
export { kafkaEnv, kafkaSettings, port, postgresEnv, redisEnv, serviceEnv, sqsEnv } from './lib/schemas';
export type { KafkaSettings } from './lib/schemas';
export { z } from 'zod';
