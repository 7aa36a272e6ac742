import { generateKeyPairSync } from 'node:crypto';
import { loadConfig } from '@qls/config';
import { configSchema } from './config';

// Operator endpoints verify tokens: the operator key settings are required.
const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('stream-ops config', () => {
  const env = {
    KAFKA_BROKERS: 'kafka:9092',
    DATABASE_URL: 'postgres://qls:qls@postgres:5432/qls',
    AUTH_JWT_PUBLIC_KEYS: publicKey,
    AUTH_JWT_ISSUER: 'https://auth.example',
  };

  it('monitors the metrics pipeline groups every 15 s by default', () => {
    expect(loadConfig(configSchema, env)).toMatchObject({
      LAG_GROUPS: [
        { groupId: 'storage', topic: 'metrics-raw' },
        { groupId: 'alerting', topic: 'metrics-raw' },
        { groupId: 'dashboard', topic: 'metrics-raw' },
      ],
      LAG_POLL_INTERVAL_MS: 15_000,
      LAG_WINDOW_SIZE: 10,
      LAG_STOP_AFTER_MS: 300_000,
      LAG_HOT_FACTOR: 10,
      LAG_HOT_MIN_LAG: 1_000,
      LAG_RETENTION_CRITICAL_RATIO: 0.5,
    });
  });

  it('names every bad variable', () => {
    expect(() =>
      loadConfig(configSchema, {
        ...env,
        LAG_GROUPS: 'storage:metrics-raw,alerting',
        LAG_WINDOW_SIZE: '1',
        LAG_RETENTION_CRITICAL_RATIO: '50',
      }),
    ).toThrow(
      [
        'Invalid configuration:',
        '  - LAG_GROUPS: "alerting" is not group:topic, got "storage:metrics-raw,alerting"',
        '  - LAG_WINDOW_SIZE: expected at least 2 (samples), got "1"',
        '  - LAG_RETENTION_CRITICAL_RATIO: expected a fraction of at most 1, got "50"',
      ].join('\n'),
    );
  });
});
