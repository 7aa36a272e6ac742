import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from '@qls/config';
import { configSchema } from './config';

// Operator endpoints verify tokens: the operator key settings are required.
const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

const valid = {
  DATABASE_URL: 'postgres://u:p@db:5432/app',
  KAFKA_BROKERS: 'kafka:9092',
  AUTH_JWT_PUBLIC_KEYS: publicKey,
  AUTH_JWT_ISSUER: 'https://auth.example',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(configSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('metrics-storage config', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(configSchema, valid)).toMatchObject({
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
    expect(loadConfig(configSchema, { ...valid, STORAGE_FROM_BEGINNING: 'false' }).STORAGE_FROM_BEGINNING).toBe(false);
    expect(problemsOf({ ...valid, STORAGE_FROM_BEGINNING: 'yes' })[0]).toMatch(/^STORAGE_FROM_BEGINNING: expected true or false/);
    expect(problemsOf({ ...valid, STORAGE_MAX_BATCH_POINTS: '0' })[0]).toMatch(/^STORAGE_MAX_BATCH_POINTS: /);
  });
});
