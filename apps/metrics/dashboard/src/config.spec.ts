import { configUnderTest, sampleEnv } from '@qls/testing';
import { configSchema } from './config';

const config = configUnderTest(configSchema, { ...sampleEnv.kafka, ...sampleEnv.operatorAuth() });

describe('metrics-dashboard config', () => {
  it('needs the brokers and the operator key, and applies the documented defaults', () => {
    expect(config.load()).toEqual({
      AUTH_JWT_ALGORITHMS: ['RS256', 'ES256'],
      AUTH_JWT_AUDIENCE: 'qls-ops',
      AUTH_JWT_ISSUER: 'https://auth.example',
      AUTH_JWT_PUBLIC_KEYS: { keys: [expect.objectContaining({ kty: 'EC', crv: 'P-256' })] },
      KAFKA_BROKERS: ['kafka:9092'],
      LOG_LEVEL: 'info',
      HTTP_PORT: 3000,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      DASHBOARD_GROUP_ID: 'dashboard',
      METRICS_TOPIC: 'metrics-raw',
      DASHBOARD_WINDOW_SECONDS: 60,
      HOST: '127.0.0.1',
      OPS_RATE_LIMIT_PER_SECOND: 10,
      OPS_RATE_LIMIT_BURST: 50,
    });
    expect(Object.keys(configSchema.shape).sort()).toEqual([
      'AUTH_JWT_ALGORITHMS',
      'AUTH_JWT_AUDIENCE',
      'AUTH_JWT_ISSUER',
      'AUTH_JWT_PUBLIC_KEYS',
      'DASHBOARD_GROUP_ID',
      'DASHBOARD_WINDOW_SECONDS',
      'HOST',
      'HTTP_PORT',
      'KAFKA_BROKERS',
      'KAFKA_CLIENT_ID',
      'LOG_LEVEL',
      'MANAGEMENT_PORT',
      'METRICS_TOPIC',
      'OPS_RATE_LIMIT_BURST',
      'OPS_RATE_LIMIT_PER_SECOND',
      'SERVICE_NAME',
      'SHUTDOWN_TIMEOUT_MS',
    ]);
  });

  it('names a bad window', () => {
    expect(config.load({ DASHBOARD_WINDOW_SECONDS: '300' }).DASHBOARD_WINDOW_SECONDS).toBe(300);
    expect(config.problems({ DASHBOARD_WINDOW_SECONDS: '0' })[0]).toMatch(/^DASHBOARD_WINDOW_SECONDS: /);
    expect(config.problems({ DASHBOARD_WINDOW_SECONDS: '1.5' })[0]).toMatch(/^DASHBOARD_WINDOW_SECONDS: expected an integer/);
    expect(config.problems({ DASHBOARD_WINDOW_SECONDS: '3601' })[0]).toMatch(/^DASHBOARD_WINDOW_SECONDS: /);
  });
});
