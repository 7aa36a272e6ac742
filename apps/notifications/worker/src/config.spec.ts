import { configUnderTest, sampleEnv } from '@qls/testing';
import { configSchema } from './config';

const config = configUnderTest(configSchema, { ...sampleEnv.postgres, ...sampleEnv.redis, ...sampleEnv.sqs });

describe('notification-worker config', () => {
  it('defaults to a shutdown budget longer than the long poll', () => {
    const defaults = config.load();
    expect(defaults.SHUTDOWN_TIMEOUT_MS).toBe(50_000);
    expect(defaults.NOTIFICATIONS_QUEUE).toBe('notifications');
    expect(defaults.LOCAL_PROVIDER_FAULTS).toEqual({});
  });

  it('refuses a shutdown budget the long poll alone would exceed, naming the variable', () => {
    expect(() => config.load({ SHUTDOWN_TIMEOUT_MS: '10000' })).toThrow(/SHUTDOWN_TIMEOUT_MS: must be more than the 20 s long poll/);
  });

  it('relates the processing cap to the visibility timeout', () => {
    expect(() => config.load({ WORKER_MAX_PROCESSING_SECONDS: '10', WORKER_VISIBILITY_TIMEOUT_SECONDS: '30' })).toThrow(
      /WORKER_MAX_PROCESSING_SECONDS: must be at least WORKER_VISIBILITY_TIMEOUT_SECONDS/,
    );
  });

  it("keeps the queue's receive limit a safety net above the provider attempts, naming the variable", () => {
    const defaults = config.load();
    expect([defaults.NOTIFICATIONS_MAX_ATTEMPTS, defaults.NOTIFICATIONS_MAX_RECEIVES]).toEqual([3, 10]);
    expect(() => config.load({ NOTIFICATIONS_MAX_RECEIVES: '3' })).toThrow(
      /NOTIFICATIONS_MAX_RECEIVES: must be more than NOTIFICATIONS_MAX_ATTEMPTS/,
    );
  });

  it('reads provider faults as JSON and names a malformed value', () => {
    expect(config.load({ LOCAL_PROVIDER_FAULTS: '{"sms":{"latencyMs":50}}' }).LOCAL_PROVIDER_FAULTS).toEqual({
      sms: { latencyMs: 50 },
    });
    expect(() => config.load({ LOCAL_PROVIDER_FAULTS: '{oops' })).toThrow(/LOCAL_PROVIDER_FAULTS: expected JSON/);
  });
});
