export { ConfigError, loadConfig, loadConfigOrExit } from './lib/load-config';
export type { Env } from './lib/load-config';
export { REDACTED, isSecretName, redactSecrets } from './lib/redact';
export {
  DEFAULT_DATE_RANGE,
  MAX_IDENTIFIER_LENGTH,
  bigintId,
  boundedDate,
  boundedInt,
  boundedIntParam,
  dateRangeProblem,
  excerpt,
  identifier,
  jsonProblem,
  safeJsonObject,
  safeString,
  strictDate,
  unsafeIdentifierReason,
  unsafeTextReason,
} from './lib/input';
export type { DateRange, JsonLimits, JsonProblem } from './lib/input';
export {
  LONG_POLL_SECONDS,
  kafkaEnv,
  kafkaSettings,
  port,
  positiveInt,
  postgresEnv,
  redisEnv,
  serviceEnv,
  sqsEnv,
  sqsWorkerSchema,
} from './lib/schemas';
export type { KafkaSettings } from './lib/schemas';
export { z } from 'zod';
