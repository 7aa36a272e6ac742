import { ConfigError, loadConfig } from '@qls/config';
import { configSchema } from './config';

const valid = { KAFKA_BROKERS: 'kafka:9092' };

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
  it('needs only the brokers and applies the documented defaults', () => {
    expect(loadConfig(configSchema, valid)).toEqual({
      KAFKA_BROKERS: ['kafka:9092'],
      LOG_LEVEL: 'info',
      HTTP_PORT: 3000,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      DASHBOARD_GROUP_ID: 'dashboard',
      METRICS_TOPIC: 'metrics-raw',
      DASHBOARD_WINDOW_SECONDS: 60,
    });
    expect(Object.keys(configSchema.shape).sort()).toEqual([
      'DASHBOARD_GROUP_ID',
      'DASHBOARD_WINDOW_SECONDS',
      'HTTP_PORT',
      'KAFKA_BROKERS',
      'KAFKA_CLIENT_ID',
      'LOG_LEVEL',
      'METRICS_TOPIC',
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
