import { z } from 'zod';

/**
 * Building blocks for service config schemas. Keys are environment variable
 * names; docker-compose.yml, k8s/ and infra/env/local.env set the same names.
 */

const hostPort = z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'expected host:port');

const url = (protocols: readonly string[]) =>
  z.url({ protocol: new RegExp(`^(${protocols.join('|')})$`), error: `expected a ${protocols.join(' or ')} URL` });

/** A whole number of at least 1 (counts, sizes, durations in ms or s). */
export const positiveInt = z.coerce.number({ error: 'expected a number' }).int('expected an integer').positive();

export const port = z.coerce.number({ error: 'expected a number' }).int().min(1).max(65535);

/** Service identity, logging, HTTP port and the address it is bound to. */
export const serviceEnv = {
  SERVICE_NAME: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HTTP_PORT: port.default(3000),
  /**
   * The address the HTTP server binds: loopback unless told otherwise, so an
   * app run on a laptop (`./dev`) is not reachable from the network. The
   * container image sets `0.0.0.0` (compose and k8s reach apps by their
   * container address). An IP address or a host name; `::` is every IPv6 and
   * IPv4 interface.
   */
  HOST: z
    .string()
    .regex(/^[\w.:-]{1,253}$/, 'expected an IP address or a host name, e.g. 127.0.0.1 or 0.0.0.0')
    .default('127.0.0.1'),
  /**
   * When set, `/metrics` and `/health/*` are served on this port only, and
   * `HTTP_PORT` serves the API alone (404 for those paths). Unset: one port.
   */
  MANAGEMENT_PORT: port.optional(),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
};

/** WaitTimeSeconds of every SQS receive: the SQS maximum, so an idle queue costs one request per 20 s. */
export const LONG_POLL_SECONDS = 20;

/**
 * The shutdown budget of an SQS worker (it replaces {@link serviceEnv}'s):
 * stopping waits for the long poll in progress, then for the messages in
 * flight, so a budget shorter than the long poll would cut the receive in progress.
 */
const longPollShutdownEnv = {
  SHUTDOWN_TIMEOUT_MS: positiveInt
    .default(50_000)
    .refine((ms) => ms > LONG_POLL_SECONDS * 1000, `must be more than the ${LONG_POLL_SECONDS} s long poll a stopping worker waits for`),
};

export const kafkaEnv = {
  /** Comma-separated bootstrap servers, e.g. `kafka:9092` or `a:9092,b:9092`. */
  KAFKA_BROKERS: z
    .string()
    .transform((raw) => raw.split(',').map((s) => s.trim()))
    .pipe(z.array(hostPort).min(1)),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
};

export const sqsEnv = {
  /** Unset on AWS (the SDK picks the regional endpoint); set for ElasticMQ. */
  SQS_ENDPOINT: url(['http', 'https']).optional(),
  AWS_REGION: z.string().min(1),
};

/**
 * The config schema of an SQS worker: the service's settings, SQS, a shutdown
 * budget that outlasts the long poll, and the worker's own `shape`.
 */
export function sqsWorkerSchema<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.object({ ...serviceEnv, ...sqsEnv, ...longPollShutdownEnv, ...shape });
}

export const postgresEnv = {
  DATABASE_URL: url(['postgres', 'postgresql']),
  DATABASE_POOL_SIZE: positiveInt.default(10),
};

export const redisEnv = {
  REDIS_URL: url(['redis', 'rediss']),
};

export type KafkaSettings = { brokers: string[]; clientId: string };

/** Narrowed views the adapters take, so they never see raw variable names. */
export function kafkaSettings(
  env: { KAFKA_BROKERS: string[]; KAFKA_CLIENT_ID?: string | undefined },
  fallbackClientId: string,
): KafkaSettings {
  return { brokers: env.KAFKA_BROKERS, clientId: env.KAFKA_CLIENT_ID ?? fallbackClientId };
}
