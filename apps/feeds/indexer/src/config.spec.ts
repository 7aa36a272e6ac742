import { configUnderTest, sampleEnv } from '@qls/testing';
import { configSchema } from './config';

const config = configUnderTest(configSchema, { ...sampleEnv.postgres, ...sampleEnv.kafka });

describe('feed-indexer config', () => {
  it('runs both projections, each in its own group, by default', () => {
    expect(config.load()).toMatchObject({
      POSTS_TOPIC: 'posts',
      FEED_INDEXER_PROJECTIONS: ['search', 'analytics'],
      SEARCH_GROUP_ID: 'search',
      ANALYTICS_GROUP_ID: 'analytics',
      FEED_INDEXER_DEAD_LETTER_TOPIC: 'posts-dead-letter',
      FEED_INDEXER_MAX_BATCH_RECORDS: 2_000,
      FEED_INDEXER_FROM_BEGINNING: true,
    });
  });

  it('runs one projection when told, and names an unknown one', () => {
    expect(config.load({ FEED_INDEXER_PROJECTIONS: ' search ' }).FEED_INDEXER_PROJECTIONS).toEqual(['search']);
    expect(config.problems({ FEED_INDEXER_PROJECTIONS: 'search,ranking' })[0]).toMatch(/^FEED_INDEXER_PROJECTIONS/);
  });
});
