import { ConfigError, loadConfig } from '@qls/config';
import { configSchema } from './config';

const valid = {
  DATABASE_URL: 'postgres://u:p@db:5432/app',
  KAFKA_BROKERS: 'kafka:9092',
  REDIS_URL: 'redis://redis:6379',
  AWS_REGION: 'us-east-1',
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

describe('feed-fanout config', () => {
  it('applies the documented defaults (the issue’s tiers, group fan-out on posts)', () => {
    expect(loadConfig(configSchema, valid)).toMatchObject({
      HTTP_PORT: 3000,
      POSTS_TOPIC: 'posts',
      FANOUT_GROUP_ID: 'fan-out',
      FANOUT_DEAD_LETTER_TOPIC: 'posts-dead-letter',
      FAN_OUT_TASKS_QUEUE: 'fan-out-tasks',
      FANOUT_DIRECT_BELOW: 1_000,
      FEED_CELEBRITY_THRESHOLD: 100_000,
      FANOUT_TASK_SIZE: 1_000,
      FANOUT_ACTIVE_HOURS: 720,
      FEED_LENGTH: 800,
      FEED_RECENT_LENGTH: 200,
      FEED_RANKING: 'recency',
      FANOUT_FROM_BEGINNING: true,
    });
  });

  it('names every bad variable', () => {
    const problems = problemsOf({
      ...valid,
      FANOUT_TASK_SIZE: '0',
      FEED_RANKING: 'random',
      FANOUT_FROM_BEGINNING: 'yes',
      REDIS_URL: 'http://x',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['FANOUT_FROM_BEGINNING', 'FANOUT_TASK_SIZE', 'FEED_RANKING', 'REDIS_URL']);
  });

  it('refuses a direct tier reaching past the celebrity threshold', () => {
    expect(problemsOf({ ...valid, FANOUT_DIRECT_BELOW: '500', FEED_CELEBRITY_THRESHOLD: '100' })).toEqual([
      'FANOUT_DIRECT_BELOW: must not exceed FEED_CELEBRITY_THRESHOLD, got "500"',
    ]);
  });
});
