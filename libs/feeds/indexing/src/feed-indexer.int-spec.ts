import { randomUUID } from 'node:crypto';
import type { FeedEvent, PostCreated, PostDeleted } from '@qls/feed-contracts';
import { migrate, readMigrations } from '@qls/provisioning';
import { suiteSchema } from '@qls/testing';
import { AnalyticsProjection, type PostsProjection, SearchProjection } from './lib/projections';

const hour = Date.UTC(2026, 0, 10, 9);

const created = (authorId: string, body: string, createdAt = hour + 60_000): PostCreated => ({
  type: 'PostCreated',
  schemaVersion: 1,
  postId: randomUUID(),
  authorId,
  body,
  createdAt,
});
const deleted = (post: PostCreated): PostDeleted => ({
  type: 'PostDeleted',
  schemaVersion: 1,
  postId: post.postId,
  authorId: post.authorId,
  deletedAt: post.createdAt + 1_000,
});

describe('projections of the posts log (real Postgres)', () => {
  const db = suiteSchema({ migrate, readMigrations });
  let search: PostsProjection;
  let analytics: PostsProjection;

  beforeAll(async () => {
    search = new SearchProjection(db.pool);
    analytics = new AnalyticsProjection(db.pool);
  });

  beforeEach(() => db.pool.query('TRUNCATE post_search, post_analytics'));

  async function snapshot(): Promise<unknown> {
    const [s, a] = await Promise.all([
      db.pool.query('SELECT post_id, author_id, body, created_at FROM post_search ORDER BY post_id'),
      db.pool.query('SELECT post_id, author_id, created_at, deleted FROM post_analytics ORDER BY post_id'),
    ]);
    return { search: s.rows, analytics: a.rows };
  }

  const applyBoth = async (events: FeedEvent[]) => {
    await search.apply(events);
    await analytics.apply(events);
  };

  it('indexes created posts, drops deleted ones from search and flags them in analytics', async () => {
    const [a, b, c] = [created('ada', 'hello kafka'), created('ada', 'consumer groups'), created('bob', 'streams')];
    const follow: FeedEvent = { type: 'Followed', schemaVersion: 1, followerId: 'bob', followeeId: 'ada', at: hour };

    expect(await search.apply([a, b, follow, c])).toEqual({ rowsWritten: 3 });
    expect(await search.apply([deleted(b)])).toEqual({ rowsWritten: 1 });
    await analytics.apply([a, b, follow, c, deleted(b)]);

    const { rows } = await db.pool.query<{ body: string }>(
      "SELECT body FROM post_search WHERE document @@ websearch_to_tsquery('simple', 'kafka or consumer')",
    );
    expect(rows.map((r) => r.body)).toEqual(['hello kafka']);
    const stats = await db.pool.query('SELECT author_id, hour, posts::int FROM post_stats_hourly ORDER BY author_id');
    expect(stats.rows).toEqual([
      { author_id: 'ada', hour: new Date(hour), posts: 1 },
      { author_id: 'bob', hour: new Date(hour), posts: 1 },
    ]);
  });

  it('changes nothing when the same events are applied again (redelivery, replay from the start)', async () => {
    const posts = [created('ada', 'one'), created('ada', 'two'), created('bob', 'three')];
    const events: FeedEvent[] = [...posts, deleted(posts[1] as PostCreated)];
    await applyBoth(events);
    const before = await snapshot();

    expect(await search.apply(events)).toEqual({ rowsWritten: 0 });
    expect(await analytics.apply(events)).toEqual({ rowsWritten: 0 });
    expect(await snapshot()).toEqual(before);
  });

  it('gives the same rows for a batch applied at once or in halves, a post created and deleted within it included', async () => {
    const post = created('ada', 'short-lived');
    const other = created('bob', 'stays');
    const events: FeedEvent[] = [post, other, deleted(post)];

    await applyBoth(events);
    const atOnce = await snapshot();
    await db.pool.query('TRUNCATE post_search, post_analytics');
    await applyBoth(events.slice(0, 1));
    await applyBoth(events.slice(1));

    expect(await snapshot()).toEqual(atOnce);
    expect(atOnce).toMatchObject({
      search: [{ body: 'stays' }],
      analytics: expect.arrayContaining([expect.objectContaining({ deleted: true })]),
    });
  });

  it('never undeletes a post whose creation is replayed after its deletion', async () => {
    const post = created('ada', 'gone');
    await analytics.apply([post, deleted(post)]);

    await analytics.apply([post]);

    expect((await db.pool.query('SELECT deleted FROM post_analytics')).rows).toEqual([{ deleted: true }]);
  });
});
