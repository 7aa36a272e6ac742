import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from '@qls/config';
import { configSchema } from './config';

// Operator endpoints verify tokens: the operator key settings are required.
const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

const valid = { KAFKA_BROKERS: 'kafka:9092', AUTH_JWT_PUBLIC_KEYS: publicKey, AUTH_JWT_ISSUER: 'https://auth.example' };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(configSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('metrics-dashboard config', () => {
  it('needs the brokers and the operator key, and applies the documented defaults', () => {
    expect(loadConfig(configSchema, valid)).toEqual({
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
    expect(loadConfig(configSchema, { ...valid, DASHBOARD_WINDOW_SECONDS: '300' }).DASHBOARD_WINDOW_SECONDS).toBe(300);
    expect(problemsOf({ ...valid, DASHBOARD_WINDOW_SECONDS: '0' })[0]).toMatch(/^DASHBOARD_WINDOW_SECONDS: /);
    expect(problemsOf({ ...valid, DASHBOARD_WINDOW_SECONDS: '1.5' })[0]).toMatch(/^DASHBOARD_WINDOW_SECONDS: expected an integer/);
    expect(problemsOf({ ...valid, DASHBOARD_WINDOW_SECONDS: '3601' })[0]).toMatch(/^DASHBOARD_WINDOW_SECONDS: /);
  });
});
