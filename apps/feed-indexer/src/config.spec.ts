import { ConfigError, loadConfig } from '@qls/config';
import { configSchema } from './config';

const valid = { DATABASE_URL: 'postgres://u:p@db:5432/app', KAFKA_BROKERS: 'kafka:9092' };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(configSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('feed-indexer config', () => {
  it('runs both projections, each in its own group, by default', () => {
    expect(loadConfig(configSchema, valid)).toMatchObject({
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
    expect(loadConfig(configSchema, { ...valid, FEED_INDEXER_PROJECTIONS: ' search ' }).FEED_INDEXER_PROJECTIONS).toEqual(['search']);
    expect(problemsOf({ ...valid, FEED_INDEXER_PROJECTIONS: 'search,ranking' })[0]).toMatch(/^FEED_INDEXER_PROJECTIONS/);
  });
});
