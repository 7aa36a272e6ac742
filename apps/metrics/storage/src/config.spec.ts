import { configUnderTest, sampleEnv } from '@qls/testing';
import { configSchema } from './config';

const config = configUnderTest(configSchema, { ...sampleEnv.postgres, ...sampleEnv.kafka, ...sampleEnv.operatorAuth() });

describe('metrics-storage config', () => {
  it('applies the documented defaults', () => {
    expect(config.load()).toMatchObject({
      HTTP_PORT: 3000,
      METRICS_RAW_TOPIC: 'metrics-raw',
      STORAGE_GROUP_ID: 'storage',
      STORAGE_DEAD_LETTER_TOPIC: 'metrics-dead-letter',
      STORAGE_MAX_BATCH_POINTS: 5_000,
      STORAGE_PARTITION_CONCURRENCY: 3,
      STORAGE_WRITE_TIMEOUT_MS: 10_000,
      STORAGE_FROM_BEGINNING: true,
      STORAGE_PARTITION_DAYS_AHEAD: 7,
      STORAGE_RETENTION_DAYS: 30,
      SERIES_MAX_POINTS: 10_000,
    });
  });

  it('reads booleans strictly and names a bad value', () => {
    expect(config.load({ STORAGE_FROM_BEGINNING: 'false' }).STORAGE_FROM_BEGINNING).toBe(false);
    expect(config.problems({ STORAGE_FROM_BEGINNING: 'yes' })[0]).toMatch(/^STORAGE_FROM_BEGINNING: expected true or false/);
    expect(config.problems({ STORAGE_MAX_BATCH_POINTS: '0' })[0]).toMatch(/^STORAGE_MAX_BATCH_POINTS: /);
  });
});
