import { loadConfig } from '@qls/config';
import { configSchema } from './config';

const required = { DATABASE_URL: 'postgres://u:p@db:5432/app', REDIS_URL: 'redis://redis:6379', AWS_REGION: 'us-east-1' };

describe('notification-worker config', () => {
  it('defaults to a shutdown budget longer than the long poll', () => {
    const config = loadConfig(configSchema, required);
    expect(config.SHUTDOWN_TIMEOUT_MS).toBe(50_000);
    expect(config.NOTIFICATIONS_QUEUE).toBe('notifications');
    expect(config.LOCAL_PROVIDER_FAULTS).toEqual({});
  });

  it('refuses a shutdown budget the long poll alone would exceed, naming the variable', () => {
    expect(() => loadConfig(configSchema, { ...required, SHUTDOWN_TIMEOUT_MS: '10000' })).toThrow(
      /SHUTDOWN_TIMEOUT_MS: must be more than the 20 s long poll/,
    );
  });

  it('relates the processing cap to the visibility timeout', () => {
    expect(() =>
      loadConfig(configSchema, { ...required, WORKER_MAX_PROCESSING_SECONDS: '10', WORKER_VISIBILITY_TIMEOUT_SECONDS: '30' }),
    ).toThrow(/WORKER_MAX_PROCESSING_SECONDS: must be at least WORKER_VISIBILITY_TIMEOUT_SECONDS/);
  });

  it("keeps the queue's receive limit a safety net above the provider attempts, naming the variable", () => {
    const config = loadConfig(configSchema, required);
    expect([config.NOTIFICATIONS_MAX_ATTEMPTS, config.NOTIFICATIONS_MAX_RECEIVES]).toEqual([3, 10]);
    expect(() => loadConfig(configSchema, { ...required, NOTIFICATIONS_MAX_RECEIVES: '3' })).toThrow(
      /NOTIFICATIONS_MAX_RECEIVES: must be more than NOTIFICATIONS_MAX_ATTEMPTS/,
    );
  });

  it('reads provider faults as JSON and names a malformed value', () => {
    expect(loadConfig(configSchema, { ...required, LOCAL_PROVIDER_FAULTS: '{"sms":{"latencyMs":50}}' }).LOCAL_PROVIDER_FAULTS).toEqual({
      sms: { latencyMs: 50 },
    });
    expect(() => loadConfig(configSchema, { ...required, LOCAL_PROVIDER_FAULTS: '{oops' })).toThrow(/LOCAL_PROVIDER_FAULTS: expected JSON/);
  });
});
