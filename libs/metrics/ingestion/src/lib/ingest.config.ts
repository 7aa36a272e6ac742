import { CompressionTypes } from 'kafkajs';
import { z } from 'zod';
import { positiveInt } from '@qls/config';
import { METRICS_RAW_TOPIC } from '@qls/metrics-contracts';
import { type BackpressureSettings, backpressurePolicies } from './backpressure';
import type { IngestLimits } from './ingest.request';
import type { ProduceBatcherOptions } from './produce.batcher';

/** Ingest settings from the environment (read by libs/platform/config's loadConfig); every one has a default. */
export const metricsIngestEnv = {
  /** Topic the points are produced to, keyed by serviceId. */
  METRICS_RAW_TOPIC: z.string().min(1).default(METRICS_RAW_TOPIC),
  /** Most points in one POST /metrics. */
  INGEST_MAX_POINTS_PER_REQUEST: positiveInt.max(100_000).default(5_000),
  /** Oldest accepted point, in days before now: keep it at most the storage's STORAGE_RETENTION_DAYS. */
  INGEST_MAX_POINT_AGE_DAYS: positiveInt.max(3_650).default(30),
  /** Newest accepted point, in seconds after now: the clock skew allowed to callers. */
  INGEST_MAX_FUTURE_SKEW_SECONDS: z.coerce
    .number({ error: 'expected a number' })
    .int('expected an integer')
    .min(0)
    .max(86_400)
    .default(300),
  /** How long the first record of a produce batch waits for records of other requests (ms). */
  INGEST_LINGER_MS: z.coerce.number({ error: 'expected a number' }).int('expected an integer').min(0).max(1_000).default(5),
  /** A batch is sent at once when it holds this many records... */
  INGEST_MAX_BATCH_RECORDS: positiveInt.default(10_000),
  /** ...or this many bytes of record values (before compression). Keep it under the broker's message.max.bytes after compression. */
  INGEST_MAX_BATCH_BYTES: positiveInt.default(1024 * 1024),
  /** Produce requests in flight at once (kafkajs's idempotent producer allows up to 5 per broker). */
  INGEST_MAX_IN_FLIGHT: positiveInt.max(5).default(4),
  /** Compression of record batches: gzip (built into kafkajs) shrinks metric JSON about 5–10×. */
  INGEST_COMPRESSION: z.enum(['gzip', 'none'], { error: 'expected gzip or none' }).default('gzip'),
  /** The consumer group whose lag on the topic drives backpressure. */
  ALERTING_GROUP_ID: z.string().min(1).default('alerting'),
  /** Lag (records) above which BACKPRESSURE_POLICY applies. */
  BACKPRESSURE_LAG_THRESHOLD: z.coerce.number({ error: 'expected a number' }).int('expected an integer').min(0).default(1_000_000),
  /** `throttle`: 429 with Retry-After, nothing produced; `sample`: keep BACKPRESSURE_SAMPLE_RATE of the points, 202 saying so. */
  BACKPRESSURE_POLICY: z.enum(backpressurePolicies, { error: `expected one of ${backpressurePolicies.join(', ')}` }).default('throttle'),
  /** Fraction of points kept while sampling, in (0, 1]. */
  BACKPRESSURE_SAMPLE_RATE: z.coerce
    .number({ error: 'expected a number' })
    .gt(0, 'expected a fraction in (0, 1]')
    .max(1, 'expected a fraction in (0, 1]')
    .default(0.1),
  /** How often the alerting lag is read (ms). */
  BACKPRESSURE_POLL_INTERVAL_MS: positiveInt.min(100, 'expected at least 100 (ms)').default(5_000),
  /** Retry-After of a throttled request (s). */
  BACKPRESSURE_RETRY_AFTER_SECONDS: positiveInt.default(5),
};

export type MetricsIngestEnv = z.infer<z.ZodObject<typeof metricsIngestEnv>>;

export function ingestLimits(env: MetricsIngestEnv): IngestLimits {
  return {
    maxPointsPerRequest: env.INGEST_MAX_POINTS_PER_REQUEST,
    maxPointAgeMs: env.INGEST_MAX_POINT_AGE_DAYS * 86_400_000,
    maxFutureSkewMs: env.INGEST_MAX_FUTURE_SKEW_SECONDS * 1_000,
  };
}

export function backpressureSettings(env: MetricsIngestEnv): BackpressureSettings {
  return {
    policy: env.BACKPRESSURE_POLICY,
    lagThreshold: env.BACKPRESSURE_LAG_THRESHOLD,
    sampleRate: env.BACKPRESSURE_SAMPLE_RATE,
    retryAfterSeconds: env.BACKPRESSURE_RETRY_AFTER_SECONDS,
  };
}

export function batcherSettings(
  env: MetricsIngestEnv,
): Pick<ProduceBatcherOptions, 'topic' | 'lingerMs' | 'maxBatchRecords' | 'maxBatchBytes' | 'maxInFlight'> {
  return {
    topic: env.METRICS_RAW_TOPIC,
    lingerMs: env.INGEST_LINGER_MS,
    maxBatchRecords: env.INGEST_MAX_BATCH_RECORDS,
    maxBatchBytes: env.INGEST_MAX_BATCH_BYTES,
    maxInFlight: env.INGEST_MAX_IN_FLIGHT,
  };
}

export function compressionOf(env: MetricsIngestEnv): CompressionTypes {
  return env.INGEST_COMPRESSION === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
}
