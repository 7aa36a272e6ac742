import { configUnderTest, sampleEnv } from '@qls/testing';
import { configSchema } from './config';

const config = configUnderTest(configSchema, { ...sampleEnv.postgres, ...sampleEnv.redis, ...sampleEnv.sqs });

describe('feed-fanout-worker config', () => {
  it('applies the documented defaults', () => {
    expect(config.load()).toMatchObject({
      FAN_OUT_TASKS_QUEUE: 'fan-out-tasks',
      FAN_OUT_TASKS_DLQ: 'fan-out-tasks-dlq',
      FANOUT_WORKER_CONCURRENCY: 8,
      FANOUT_VISIBILITY_TIMEOUT_SECONDS: 60,
      FANOUT_MAX_PROCESSING_SECONDS: 300,
      FEED_LENGTH: 800,
      SHUTDOWN_TIMEOUT_MS: 50_000,
    });
  });

  it('names every bad variable, and relates the timeouts', () => {
    expect(config.named({ FANOUT_WORKER_CONCURRENCY: 'many', FEED_LENGTH: '-1' })).toEqual(['FANOUT_WORKER_CONCURRENCY', 'FEED_LENGTH']);
    expect(config.problems({ SHUTDOWN_TIMEOUT_MS: '10000' })[0]).toMatch(/^SHUTDOWN_TIMEOUT_MS: must be more than the 20 s long poll/);
    expect(config.problems({ FANOUT_MAX_PROCESSING_SECONDS: '30' })[0]).toMatch(
      /^FANOUT_MAX_PROCESSING_SECONDS: must be at least FANOUT_VISIBILITY_TIMEOUT_SECONDS/,
    );
  });
});
