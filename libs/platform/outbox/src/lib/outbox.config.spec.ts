import { loadConfig, z } from '@qls/config';
import { outboxRelayEnv, relaySettings } from './outbox.config';
import { destinationToString } from './outbox.writer';

describe('relay settings from the environment', () => {
  const schema = z.object(outboxRelayEnv);

  it('has a default for every setting', () => {
    expect(relaySettings(loadConfig(schema, {}))).toEqual({
      concurrency: 2,
      batchSize: 1_000,
      bucketsPerClaim: 16,
      lingerMs: 10,
      pollIntervalMs: 1_000,
      maxAttempts: 10,
      retentionMs: 24 * 3_600_000,
    });
  });

  it('reads overrides and names a bad value', () => {
    expect(relaySettings(loadConfig(schema, { OUTBOX_CONCURRENCY: '4', OUTBOX_RETENTION_HOURS: '1' }))).toMatchObject({
      concurrency: 4,
      retentionMs: 3_600_000,
    });
    expect(() => loadConfig(schema, { OUTBOX_BUCKETS_PER_CLAIM: '65' })).toThrow(/OUTBOX_BUCKETS_PER_CLAIM/);
    expect(() => loadConfig(schema, { OUTBOX_BATCH_SIZE: 'lots' })).toThrow(/OUTBOX_BATCH_SIZE: expected a number, got "lots"/);
  });
});

describe('destinationToString', () => {
  it('writes the kind and the name', () => {
    expect(destinationToString({ kafka: 'posts' })).toBe('kafka:posts');
    expect(destinationToString({ sqs: 'notifications' })).toBe('sqs:notifications');
  });
});
