import { randomUUID } from 'node:crypto';
import { type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type Redis from 'ioredis';
import { loadConfig } from '@qls/config';
import { FeedKeys } from '@qls/feed-timeline';
import { decodeTask } from '@qls/feed-distribution';
import { KafkaPublisher } from '@qls/kafka';
import { createLogger, createNestApp } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { listenLocally, suiteSchema, uniqueName, waitFor } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';
import { type RebuildDeps, runRebuildCommand } from './rebuild-command';

/** The app in this process: its consumer on a topic, group, queue and schema of the test's own. */
describe('feed-fanout app (in process, real servers)', () => {
  const db = suiteSchema({ migrate, readMigrations });
  let redis: Redis;
  let publisher: KafkaPublisher;

  beforeAll(async () => {
    redis = db.resources.redis();
    publisher = new KafkaPublisher(db.resources.kafka);
    db.resources.onCleanup(() => publisher.close());
  });

  async function seed(author: string, followers: readonly string[]): Promise<void> {
    await db.pool.query(`INSERT INTO feed_users (id, handle) SELECT id, id FROM unnest($1::text[]) AS id`, [[author, ...followers]]);
    await db.pool.query(`INSERT INTO follows (followee_id, follower_id) SELECT $1, unnest($2::text[])`, [author, followers]);
    await db.pool.query(`UPDATE feed_users SET follower_count = $2 WHERE id = $1`, [author, followers.length]);
  }

  it('writes a small author’s post into the feeds, queues tasks for a larger one, and reports both', async () => {
    const [topic, deadLetterTopic] = await Promise.all([db.resources.topic('posts', 2), db.resources.topic('posts-dead-letter')]);
    const { url: queueUrl } = await db.resources.queue('fan-out-tasks', { maxReceiveCount: 3 });
    const queue = queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
    const config = loadConfig(configSchema, {
      ...process.env,
      POSTS_TOPIC: topic,
      FANOUT_DEAD_LETTER_TOPIC: deadLetterTopic,
      FANOUT_GROUP_ID: uniqueName('fan-out'),
      FAN_OUT_TASKS_QUEUE: queue,
      FAN_OUT_TASKS_DLQ: `${queue}-dlq`,
      FANOUT_DIRECT_BELOW: '3',
      FEED_CELEBRITY_THRESHOLD: '100',
      FANOUT_TASK_SIZE: '2',
      LOG_LEVEL: 'silent',
    });
    const service = uniqueName('feed-fanout');
    const app = await createNestApp(
      AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }), pool: db.pool }),
    );
    db.resources.onCleanup(() => app.close());
    const base = await listenLocally(app);

    const small = uniqueName('small');
    const smallFans = [`${small}-f1`, `${small}-f2`];
    const large = uniqueName('large');
    const largeFans = [1, 2, 3, 4, 5].map((i) => `${large}-f${i}`);
    await seed(small, smallFans);
    await seed(large, largeFans);
    const [smallPost, largePost] = [randomUUID(), randomUUID()];
    const event = (postId: string, authorId: string) => ({
      key: authorId,
      body: JSON.stringify({ type: 'PostCreated', schemaVersion: 1, postId, authorId, body: 'hi', createdAt: Date.now() }),
    });
    await publisher.publish(topic, [event(smallPost, small), event(largePost, large)]);

    await waitFor(
      async () => (await Promise.all(smallFans.map((f) => redis.zscore(FeedKeys.feed(f), smallPost)))).every((s) => s !== null),
      {
        timeoutMs: 30_000,
        description: 'the small author’s post in both feeds',
      },
    );
    // A receive may return some of the tasks only (SQS samples its servers; ElasticMQ returns what is
    // visible then), and what it returned stays invisible: collect across receives.
    const tasks = new Map<string, Message>();
    const received = await waitFor(
      async () => {
        const { Messages = [] } = await db.resources.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        for (const message of Messages) tasks.set(message.MessageId ?? '', message);
        return tasks.size >= 3 && [...tasks.values()];
      },
      { description: () => `three fan-out tasks for five followers (${tasks.size} so far)` },
    );
    expect(received).toHaveLength(3);
    expect(received.map((m) => decodeTask(m.Body ?? '')).sort((a, b) => (a.taskIndex ?? 0) - (b.taskIndex ?? 0))).toMatchObject([
      { postId: largePost, afterFollowerId: null, lastFollowerId: largeFans[1] },
      { afterFollowerId: largeFans[1], lastFollowerId: largeFans[3] },
      { afterFollowerId: largeFans[3], lastFollowerId: largeFans[4] },
    ]);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/feed_fanout_feed_writes_total\{[^}]*tier="direct"[^}]*\} 2/);
    expect(metrics).toMatch(/feed_fanout_tasks_queued_total\{action="add"[^}]*\} 3/);
    expect(metrics).toMatch(/feed_fanout_lag_seconds_count\{[^}]*tier="direct"[^}]*\} 1/);
    const ready = await fetch(`${base}/health/ready`);
    expect({ status: ready.status, body: await ready.json() }).toMatchObject({
      status: 200,
      body: { checks: { postgres: { status: 'up' }, redis: { status: 'up' }, sqs: { status: 'up' }, kafka: { status: 'up' } } },
    });
  }, 60_000);

  it('rebuilds feeds from the database (rebuild-cli)', async () => {
    const author = uniqueName('author');
    const [fan] = [`${author}-fan`];
    await seed(author, [fan]);
    const ids = [randomUUID(), randomUUID()];
    await db.pool.query(
      `INSERT INTO posts (id, author_id, body, created_at) VALUES ($1, $3, 'a', to_timestamp(1000)), ($2, $3, 'b', to_timestamp(2000))`,
      [...ids, author],
    );
    await redis.zadd(FeedKeys.feed(fan as string), 1, 'stale');
    const out: string[] = [];
    const options: RebuildDeps = {
      pool: db.pool,
      redis,
      feedLength: 10,
      recentLength: 10,
      celebrityThreshold: 100,
      defaultRanking: 'recency',
      out: (t) => out.push(t),
      err: () => undefined,
    };
    const code = await runRebuildCommand(['--user', fan as string], options);
    expect(code).toBe(0);
    expect(await redis.zrevrange(FeedKeys.feed(fan as string), 0, -1, 'WITHSCORES')).toEqual([ids[1], '2000000', ids[0], '1000000']);
    expect(out[0]).toBe(`${fan}: 2 entries\n`);

    const all = await runRebuildCommand(['--all', '--concurrency', '2'], options);
    expect(all).toBe(0);
    expect(await redis.zrevrange(FeedKeys.recent(author), 0, -1)).toEqual([ids[1], ids[0]]);
    expect(out.join('')).toMatch(/rebuilt 1 authors' recent posts and \d+ feeds with ranking recency/);
  });
});
