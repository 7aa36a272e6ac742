import { configUnderTest, sampleEnv } from '@qls/testing';
import { operationOf } from './api.metrics';
import { configSchema } from './config';

const config = configUnderTest(configSchema, { ...sampleEnv.postgres, ...sampleEnv.redis, ...sampleEnv.userAuth('feed-api') });

describe('feed-api config', () => {
  it('applies the documented defaults, the fan-out thresholds included', () => {
    expect(config.load()).toMatchObject({
      HTTP_BODY_LIMIT_BYTES: 32_768,
      RATE_LIMIT_PER_SECOND: 10,
      RATE_LIMIT_BURST: 30,
      POSTS_TOPIC: 'posts',
      FEED_CELEBRITY_THRESHOLD: 100_000,
      FEED_ACTIVE_DAYS: 30,
      FEED_LENGTH: 800,
      FEED_RECENT_LENGTH: 200,
      FEED_ACTIVITY_TOUCH_SECONDS: 60,
      FEED_REGENERATING_TTL_SECONDS: 60,
      FEED_INLINE_REBUILD_BUDGET_MS: 200,
      FEED_PAGE_SIZE: 20,
      FEED_MAX_PAGE_SIZE: 100,
    });
  });

  it('names a bad threshold', () => {
    expect(() => config.load({ FEED_CELEBRITY_THRESHOLD: 'many' })).toThrow(/- FEED_CELEBRITY_THRESHOLD: /);
  });
});

describe('operationOf', () => {
  it.each([
    ['POST', '/users', 'create_user'],
    ['GET', '/users/u-1', 'get_user'],
    ['GET', '/users/u-1/stats?from=1', 'stats'],
    ['PUT', '/users/u-1/following/u-2', 'follow'],
    ['DELETE', '/users/u-1/following/u-2', 'unfollow'],
    ['POST', '/posts', 'create_post'],
    ['DELETE', '/posts/p-1', 'delete_post'],
    ['GET', '/feed?limit=0', 'read_feed'],
    ['GET', '/search?q=x', 'search'],
    ['GET', '/health/ready', undefined],
  ])('labels %s %s as %s', (method, url, operation) => {
    expect(operationOf(method, url)).toBe(operation);
  });
});
