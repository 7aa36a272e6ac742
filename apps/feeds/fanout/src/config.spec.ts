import { configUnderTest, sampleEnv } from '@qls/testing';
import { configSchema } from './config';

const config = configUnderTest(configSchema, { ...sampleEnv.postgres, ...sampleEnv.kafka, ...sampleEnv.redis, ...sampleEnv.sqs });

describe('feed-fanout config', () => {
  it('applies the documented defaults (the issue’s tiers, group fan-out on posts)', () => {
    expect(config.load()).toMatchObject({
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
    expect(config.named({ FANOUT_TASK_SIZE: '0', FEED_RANKING: 'random', FANOUT_FROM_BEGINNING: 'yes', REDIS_URL: 'http://x' })).toEqual([
      'FANOUT_FROM_BEGINNING',
      'FANOUT_TASK_SIZE',
      'FEED_RANKING',
      'REDIS_URL',
    ]);
  });

  it('refuses a direct tier reaching past the celebrity threshold', () => {
    expect(config.problems({ FANOUT_DIRECT_BELOW: '500', FEED_CELEBRITY_THRESHOLD: '100' })).toEqual([
      'FANOUT_DIRECT_BELOW: must not exceed FEED_CELEBRITY_THRESHOLD, got "500"',
    ]);
  });
});
