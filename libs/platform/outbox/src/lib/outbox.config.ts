import { z } from 'zod';
import { positiveInt } from '@qls/config';
import type { OutboxRelayOptions } from './outbox.relay';

/** Relay settings from the environment (read by libs/platform/config's loadConfig); every one has a default. */
export const outboxRelayEnv = {
  OUTBOX_CONCURRENCY: positiveInt.max(64).default(2),
  OUTBOX_BATCH_SIZE: positiveInt.max(10_000).default(1_000),
  OUTBOX_BUCKETS_PER_CLAIM: positiveInt.max(64).default(16),
  OUTBOX_LINGER_MS: z.coerce.number({ error: 'expected a number' }).int('expected an integer').min(0).max(1_000).default(10),
  OUTBOX_POLL_INTERVAL_MS: positiveInt.default(1_000),
  OUTBOX_MAX_ATTEMPTS: positiveInt.default(10),
  OUTBOX_RETENTION_HOURS: positiveInt.default(24),
};

type OutboxRelayEnv = { [K in keyof typeof outboxRelayEnv]: number };

export function relaySettings(
  env: OutboxRelayEnv,
): Pick<
  OutboxRelayOptions,
  'concurrency' | 'batchSize' | 'bucketsPerClaim' | 'lingerMs' | 'pollIntervalMs' | 'maxAttempts' | 'retentionMs'
> {
  return {
    concurrency: env.OUTBOX_CONCURRENCY,
    batchSize: env.OUTBOX_BATCH_SIZE,
    bucketsPerClaim: env.OUTBOX_BUCKETS_PER_CLAIM,
    lingerMs: env.OUTBOX_LINGER_MS,
    pollIntervalMs: env.OUTBOX_POLL_INTERVAL_MS,
    maxAttempts: env.OUTBOX_MAX_ATTEMPTS,
    retentionMs: env.OUTBOX_RETENTION_HOURS * 3_600_000,
  };
}
