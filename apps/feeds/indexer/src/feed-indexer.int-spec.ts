import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type { Admin } from 'kafkajs';
import type { PoolClient } from 'pg';
import { loadConfig } from '@qls/config';
import type { FeedEvent, PostCreated } from '@qls/feed-contracts';
import { DEAD_LETTER_GROUP_HEADER } from '@qls/feed-indexing';
import { KafkaGroupAdmin, KafkaPublisher } from '@qls/kafka';
import { createLogger, createNestApp } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { listenLocally, suiteSchema, uniqueName, waitFor } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/**
 * The indexer in this process (both groups), on a `posts` topic and a
 * dead-letter topic of the test's own, writing to a migrated schema of its
 * own. Events are produced straight to the topic, as the outbox relay would.
 */
describe('feed-indexer (in process, real Kafka and Postgres)', () => {
  const db = suiteSchema({ migrate, readMigrations });
  let publisher: KafkaPublisher;
  let admin: Admin;
  let groupAdmin: KafkaGroupAdmin;
  let topic: string;
  let deadLetterTopic: string;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    publisher = new KafkaPublisher(db.resources.kafka);
    db.resources.onCleanup(() => publisher.close());
    admin = await db.resources.kafkaAdmin();
    groupAdmin = new KafkaGroupAdmin(db.resources.kafka);
    db.resources.onCleanup(() => groupAdmin.close());
  });

  beforeEach(async () => {
    [topic, deadLetterTopic] = await Promise.all([db.resources.topic('posts', 2), db.resources.topic('posts-dead-letter', 1)]);
    await db.pool.query('TRUNCATE post_search, post_analytics');
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  async function start(groups: { search: string; analytics: string }): Promise<string> {
    const config = loadConfig(configSchema, {
      DATABASE_URL: db.resources.env.DATABASE_URL,
      KAFKA_BROKERS: db.resources.env.KAFKA_BROKERS.join(','),
      POSTS_TOPIC: topic,
      FEED_INDEXER_DEAD_LETTER_TOPIC: deadLetterTopic,
      SEARCH_GROUP_ID: groups.search,
      ANALYTICS_GROUP_ID: groups.analytics,
    });
    const service = uniqueName('feed-indexer');
    const app = await createNestApp(
      AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }), pool: db.pool }),
    );
    apps.push(app);
    return listenLocally(app);
  }

  const newGroups = () => ({ search: uniqueName('search'), analytics: uniqueName('analytics') });

  const post = (authorId: string, body: string): PostCreated => ({
    type: 'PostCreated',
    schemaVersion: 1,
    postId: randomUUID(),
    authorId,
    body,
    createdAt: Date.UTC(2026, 0, 10, 9, 30),
  });

  async function produce(events: readonly (FeedEvent | string)[]): Promise<void> {
    await publisher.publish(
      topic,
      events.map((event) =>
        typeof event === 'string'
          ? { key: 'junk', body: event }
          : {
              key: event.type === 'PostCreated' || event.type === 'PostDeleted' ? event.authorId : event.followeeId,
              body: JSON.stringify(event),
            },
      ),
    );
  }

  /** True once the group has committed every record of the topic. */
  async function caughtUp(groupId: string): Promise<boolean> {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), groupAdmin.committedOffsets(groupId, topic)]);
    const at = new Map(committed.map((p) => [p.partition, p.offset]));
    return ends.every((end) => end.high === '0' || at.get(end.partition) === end.high);
  }

  async function searchRows(): Promise<{ post_id: string; author_id: string; body: string; created_at: Date }[]> {
    return (await db.pool.query('SELECT post_id, author_id, body, created_at FROM post_search ORDER BY post_id')).rows;
  }

  it('builds the search index and the analytics from the log, dead-letters unreadable records and counts rows written', async () => {
    const groups = newGroups();
    const url = await start(groups);
    const [kafka, queues, gone] = [post('ada', 'kafka keeps the log'), post('ada', 'queues delete on ack'), post('bob', 'soon gone')];
    await produce([
      kafka,
      queues,
      gone,
      { type: 'Followed', schemaVersion: 1, followerId: 'bob', followeeId: 'ada', at: Date.now() },
      { type: 'PostDeleted', schemaVersion: 1, postId: gone.postId, authorId: 'bob', deletedAt: Date.now() },
      'not json',
      JSON.stringify({ type: 'PostCreated', schemaVersion: 1, postId: 'p-1' }),
    ]);

    await waitFor(async () => (await caughtUp(groups.search)) && (await caughtUp(groups.analytics)), {
      description: 'both groups caught up',
    });
    expect((await searchRows()).map((r) => r.body).sort()).toEqual(['kafka keeps the log', 'queues delete on ack']);
    const stats = await db.pool.query('SELECT author_id, posts::int FROM post_stats_hourly ORDER BY author_id');
    expect(stats.rows).toEqual([
      { author_id: 'ada', posts: 2 },
      { author_id: 'bob', posts: 0 },
    ]);

    const deadLetters = await readDeadLetters(4);
    const bothGroups = [groups.analytics, groups.search].sort();
    expect(deadLetters).toHaveLength(4);
    expect(
      deadLetters
        .filter((d) => d.body === 'not json')
        .map((d) => d.group)
        .sort(),
    ).toEqual(bothGroups);
    expect(
      deadLetters
        .filter((d) => d.body.includes('p-1'))
        .map((d) => d.group)
        .sort(),
    ).toEqual(bothGroups);
    expect(new Set(deadLetters.map((d) => d.code))).toEqual(new Set(['FEED.UNREADABLE_EVENT']));
    expect(deadLetters.find((d) => d.body.includes('p-1'))?.reason).toMatch(/^not a feed event: postId: /);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    // 3 rows, or 4 when the deletion came in a later batch than its post (a batch is reduced to each post's last state).
    expect(metrics).toMatch(/feed_indexer_rows_written_total\{[^}]*projection="analytics"[^}]*\} [34]\n/);
    expect(metrics).toMatch(/feed_indexer_dead_lettered_total\{[^}]*projection="search"[^}]*code="FEED.UNREADABLE_EVENT"[^}]*\} 2/);
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
  });

  it('rebuilds the same index when the search group is replayed from the start', async () => {
    const groups = newGroups();
    await start(groups);
    const posts = Array.from({ length: 20 }, (_, i) => post(`author-${i % 3}`, `post number ${i} about logs`));
    await produce([
      ...posts,
      { type: 'PostDeleted', schemaVersion: 1, postId: posts[4]?.postId ?? '', authorId: 'author-1', deletedAt: Date.now() },
    ]);
    await waitFor(() => caughtUp(groups.search), { description: 'the search group caught up' });
    const before = await searchRows();
    expect(before).toHaveLength(19);
    for (const app of apps.splice(0)) await app.close();

    const plan = await groupAdmin.planResetToTimestamp(groups.search, topic, 0);
    expect(plan.partitions.every((p) => p.to === '0')).toBe(true);
    await groupAdmin.applyReset(plan);
    const url = await start(groups);

    await waitFor(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return /feed_indexer_records_consumed_total\{[^}]*projection="search"[^}]*\} 21/.test(text) && (await caughtUp(groups.search));
      },
      { description: 'the search group re-read all 21 records' },
    );
    expect(await searchRows()).toEqual(before);
  });

  it('keeps indexing analytics while the search group is stuck: groups hold their own offsets (a slow indexer never delays feeds)', async () => {
    const groups = newGroups();
    await start(groups);
    const blocker: PoolClient = await db.resources.client(db.pool);
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE post_search IN ACCESS EXCLUSIVE MODE');
    try {
      await produce([post('ada', 'one'), post('ada', 'two'), post('bob', 'three')]);

      // The analytics group (like the fan-out group, another group on the same topic) goes on.
      await waitFor(
        async () => (await caughtUp(groups.analytics)) && (await db.pool.query('SELECT 1 FROM post_analytics')).rowCount === 3,
        {
          description: 'analytics indexed while search is blocked',
        },
      );
      expect(await caughtUp(groups.search)).toBe(false);
    } finally {
      await blocker.query('ROLLBACK');
    }
    await waitFor(() => caughtUp(groups.search), { description: 'search caught up once unblocked' });
    expect(await searchRows()).toHaveLength(3);
  });

  async function readDeadLetters(count: number): Promise<{ group: string; code: string; reason: string; body: string }[]> {
    const consumer = db.resources.kafka.consumer({ groupId: uniqueName('dlq-reader') });
    const seen: { group: string; code: string; reason: string; body: string }[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [deadLetterTopic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const header = (name: string) => message.headers?.[name]?.toString() ?? '';
          seen.push({
            group: header(DEAD_LETTER_GROUP_HEADER),
            code: header('x-error-code'),
            reason: header('x-error-reason'),
            body: message.value?.toString() ?? '',
          });
        },
      });
      await waitFor(() => seen.length >= count, { description: `${count} dead letters` });
    } finally {
      await consumer.disconnect();
    }
    return seen;
  }
});
