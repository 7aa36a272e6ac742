import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { defineBenchmark, percentile } from '@qls/bench';
import { FeedCache, FeedKeys, FollowGraph } from '@qls/feed-timeline';
import { KafkaPublisher } from '@qls/kafka';
import { MetricsRegistry } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { SqsPublisher } from '@qls/sqs';
import { TestResources, migratedSchema, uniqueName, waitFor } from '@qls/testing';
import { FanOutConsumer } from './lib/fan-out.consumer';
import { createFanOutMetrics } from './lib/fan-out.metrics';
import { FanOutProgress } from './lib/fan-out-progress';
import { FanOutWorker } from './lib/fan-out.worker';
import { FeedFanOut } from './lib/feed-fan-out';
import { FanOutPlanner } from './lib/task-planner';
import { FanOutTaskApplier } from './lib/task-applier';

const FOLLOWERS = Number(process.env['FANOUT_BENCH_FOLLOWERS'] ?? 100_000);
const WORKER_CONCURRENCY = 16;
const READS = 2_000;

/**
 * A post by an author with 100,000 followers pushed through SQS tasks (the
 * celebrity threshold raised above that for the run): the whole path — the
 * event on Kafka, the fan-out consumer planning 100 tasks of 1,000 followers
 * (keyset chunks) and sending them in batches of 10, workers applying each
 * with one Redis script call — timed from the post's commit time to the
 * moment its last task is applied (FanOutProgress), next to the chapter's
 * naive fan-out (one awaited ZADD per follower) in the same run. Also: the
 * script writes alone (no queue), and feed read latency for a user following
 * 10 celebrities and 500 regular accounts.
 */
export default defineBenchmark({
  name: 'fan-out',
  description: `one post to ${FOLLOWERS.toLocaleString('en-US')} followers; workers in process (concurrency ${WORKER_CONCURRENCY})`,
  rounds: 3,
  headline: { metric: 'feed inserts/s', higherIsBetter: true },
  async setup() {
    const db = await migratedSchema(new TestResources(), { migrate, readMigrations });
    const { resources, pool } = db;
    const prefix = uniqueName('bench');
    const author = `${prefix}-author`;
    // 100,000 users and their follows, each in one statement.
    await pool.query(`INSERT INTO feed_users (id, handle, follower_count) VALUES ($1, $1, $2)`, [author, FOLLOWERS]);
    await pool.query(
      `INSERT INTO feed_users (id, handle) SELECT $1 || '-' || lpad(g::text, 7, '0'), $1 || '-' || lpad(g::text, 7, '0') FROM generate_series(1, $2) g`,
      [prefix, FOLLOWERS],
    );
    await pool.query(
      `INSERT INTO follows (followee_id, follower_id) SELECT $1, $2 || '-' || lpad(g::text, 7, '0') FROM generate_series(1, $3) g`,
      [author, prefix, FOLLOWERS],
    );
    await pool.query('ANALYZE feed_users; ANALYZE follows');
    const followers = (
      await pool.query<{ id: string }>(`SELECT follower_id AS id FROM follows WHERE followee_id = $1 ORDER BY 1`, [author])
    ).rows.map((r) => r.id);

    const redis = resources.redis();
    const cache = new FeedCache(redis);
    const graph = new FollowGraph(pool);
    const progress = new FanOutProgress(redis);
    const metrics = createFanOutMetrics(new MetricsRegistry({ service: 'bench', defaultMetrics: false }));
    const [topic, deadLetterTopic] = await Promise.all([resources.topic('bench-posts', 3), resources.topic('bench-dead-letter')]);
    const { url: queueUrl, dlqUrl } = await resources.queue('bench-fan-out-tasks', { visibilityTimeoutSeconds: 60, maxReceiveCount: 3 });
    const applier = new FanOutTaskApplier({ graph, cache, progress, metrics });
    const planner = new FanOutPlanner({ graph, publisher: new SqsPublisher(resources.sqs), queueUrl, progress, metrics });
    const fanOut = new FeedFanOut({
      graph,
      cache,
      planner,
      applier,
      thresholds: { directBelow: 1_000, celebrityAt: FOLLOWERS * 10 },
      activePeriodMs: 30 * 86_400_000,
      metrics,
    });
    const kafkaPublisher = new KafkaPublisher(resources.kafka);
    const consumer = new FanOutConsumer({
      kafka: resources.kafka,
      groupId: uniqueName('fan-out'),
      topic,
      deadLetterTopic,
      deadLetterPublisher: kafkaPublisher,
      fanOut,
      metrics,
    });
    const worker = new FanOutWorker({
      sqs: resources.sqs,
      queueUrl,
      deadLetterQueueUrl: dlqUrl as string,
      applier,
      metrics,
      concurrency: WORKER_CONCURRENCY,
      waitTimeSeconds: 1,
    });
    await consumer.start();
    await worker.start();
    // The group's first join, before any clock starts: one post by an author nobody follows.
    const warmUp = randomUUID();
    await kafkaPublisher.publish(topic, [
      {
        key: 'nobody',
        body: JSON.stringify({
          type: 'PostCreated',
          schemaVersion: 1,
          postId: warmUp,
          authorId: 'nobody',
          body: '',
          createdAt: Date.now(),
        }),
      },
    ]);
    await waitFor(async () => (await cache.recent('nobody', 1000)).some((e) => e.postId === warmUp), {
      timeoutMs: 60_000,
      description: 'the fan-out group joined',
    });

    const reader = await seedReader(pool, cache, prefix);
    return { ...db, redis, cache, graph, progress, author, followers, topic, kafkaPublisher, consumer, worker, reader };
  },
  async teardown({ resources, redis, followers, consumer, worker, kafkaPublisher }) {
    await Promise.all([consumer.stop(), worker.stop()]);
    await kafkaPublisher.close();
    for (let i = 0; i < followers.length; i += 5_000) await redis.unlink(...followers.slice(i, i + 5_000).map(FeedKeys.feed));
    await resources.cleanup();
  },
  baseline: {
    name: 'naive: one awaited ZADD per follower',
    async run({ pool, redis, author, followers }) {
      const postId = randomUUID();
      const committedAt = Date.now();
      const { rows } = await pool.query<{ follower_id: string }>('SELECT follower_id FROM follows WHERE followee_id = $1', [author]);
      for (const row of rows) await redis.zadd(FeedKeys.feed(row.follower_id), committedAt, postId);
      const ms = Date.now() - committedAt;
      await expectEverywhere(redis, followers, postId);
      return { 'post → last feed ms': ms, 'feed inserts/s': (followers.length / ms) * 1_000 };
    },
  },
  candidates: [
    {
      name: `Kafka → fan-out consumer → ${(FOLLOWERS / 1_000).toLocaleString('en-US')} SQS tasks → workers (script per 1,000)`,
      async run({ redis, progress, author, followers, topic, kafkaPublisher }) {
        const postId = randomUUID();
        const committedAt = Date.now();
        await kafkaPublisher.publish(topic, [
          {
            key: author,
            body: JSON.stringify({
              type: 'PostCreated',
              schemaVersion: 1,
              postId,
              authorId: author,
              body: 'hello',
              createdAt: committedAt,
            }),
          },
        ]);
        let planned = 0;
        let firstApplied = 0;
        const tasks = await waitFor(
          async () => {
            const { done, total } = await progress.status(postId, 'add');
            if (total !== null && planned === 0) planned = Date.now() - committedAt;
            if (done > 0 && firstApplied === 0) firstApplied = Date.now() - committedAt;
            return total !== null && done === total && total;
          },
          { timeoutMs: 120_000, intervalMs: 5, description: 'every fan-out task applied' },
        );
        const ms = Date.now() - committedAt;
        await expectEverywhere(redis, followers, postId);
        return {
          'post → last feed ms': ms,
          'feed inserts/s': (followers.length / ms) * 1_000,
          tasks,
          'planned ms': planned,
          'first task ms': firstApplied,
        };
      },
    },
    {
      name: 'FeedCache.addToFeeds alone (script per 1,000, no queue)',
      async run({ redis, cache, followers }) {
        const postId = randomUUID();
        const started = Date.now();
        await cache.addToFeeds(followers, { postId, score: started });
        const ms = Date.now() - started;
        await expectEverywhere(redis, followers, postId);
        return { 'post → last feed ms': ms, 'feed inserts/s': (followers.length / ms) * 1_000 };
      },
    },
    {
      name: 'feed read: 10 celebrities + 500 followees (celebrity lookup + merged page of 20)',
      async run({ cache, graph, reader }) {
        const latencies: number[] = [];
        for (let i = 0; i < READS; i++) {
          const started = performance.now();
          const pulledAuthorIds = await graph.celebritiesFollowedBy(reader, 100_000);
          const page = await cache.read(reader, { pulledAuthorIds, limit: 20 });
          latencies.push(performance.now() - started);
          if (page.items.length !== 20 || pulledAuthorIds.length !== 10) throw new Error('unexpected feed page');
        }
        return { 'read p50 ms': percentile(latencies, 50), 'read p99 ms': percentile(latencies, 99) };
      },
    },
  ],
});

/** Every follower's feed has the post (checked after the clock stopped). */
async function expectEverywhere(redis: ReturnType<TestResources['redis']>, followers: readonly string[], postId: string): Promise<void> {
  for (let i = 0; i < followers.length; i += 10_000) {
    const pipeline = redis.pipeline();
    for (const follower of followers.slice(i, i + 10_000)) pipeline.zscore(FeedKeys.feed(follower), postId);
    const missing = ((await pipeline.exec()) ?? []).filter(([, score]) => score === null).length;
    if (missing > 0) throw new Error(`${missing} feeds lack post ${postId}`);
  }
}

/** A reader following 10 celebrities (200 recent posts each) and 500 regular accounts (a full pushed feed of 800). */
async function seedReader(pool: Pool, cache: FeedCache, prefix: string): Promise<string> {
  const reader = `${prefix}-reader`;
  const celebrities = Array.from({ length: 10 }, (_, i) => `${prefix}-celebrity-${i}`);
  const regulars = Array.from({ length: 500 }, (_, i) => `${prefix}-regular-${i}`);
  await pool.query(`INSERT INTO feed_users (id, handle, follower_count) SELECT id, id, 0 FROM unnest($1::text[]) AS id`, [
    [reader, ...regulars],
  ]);
  await pool.query(`INSERT INTO feed_users (id, handle, follower_count) SELECT id, id, 1000000 FROM unnest($1::text[]) AS id`, [
    celebrities,
  ]);
  await pool.query(`INSERT INTO follows (followee_id, follower_id) SELECT unnest($1::text[]), $2`, [[...celebrities, ...regulars], reader]);
  const now = Date.now();
  await cache.replaceFeed(
    reader,
    Array.from({ length: 800 }, (_, i) => ({ postId: randomUUID(), score: now - i * 1_000 })),
  );
  for (const [c, celebrity] of celebrities.entries()) {
    await cache.replaceRecent(
      celebrity,
      Array.from({ length: 200 }, (_, i) => ({ postId: randomUUID(), score: now - i * 7_000 - c * 300 })),
    );
  }
  return reader;
}
