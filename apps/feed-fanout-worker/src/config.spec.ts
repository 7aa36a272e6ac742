import { ConfigError, loadConfig } from '@qls/config';
import { configSchema } from './config';

const valid = { DATABASE_URL: 'postgres://u:p@db:5432/app', REDIS_URL: 'redis://redis:6379', AWS_REGION: 'us-east-1' };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(configSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('feed-fanout-worker config', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(configSchema, valid)).toMatchObject({
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
    expect(
      problemsOf({ ...valid, FANOUT_WORKER_CONCURRENCY: 'many', FEED_LENGTH: '-1' })
        .map((p) => p.split(':')[0])
        .sort(),
    ).toEqual(['FANOUT_WORKER_CONCURRENCY', 'FEED_LENGTH']);
    expect(problemsOf({ ...valid, SHUTDOWN_TIMEOUT_MS: '10000' })[0]).toMatch(/^SHUTDOWN_TIMEOUT_MS: must be more than the 20 s long poll/);
    expect(problemsOf({ ...valid, FANOUT_MAX_PROCESSING_SECONDS: '30' })[0]).toMatch(
      /^FANOUT_MAX_PROCESSING_SECONDS: must be at least FANOUT_VISIBILITY_TIMEOUT_SECONDS/,
    );
  });
});
