import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { loadConfig } from '@qls/config';
import { FeedKeys } from '@qls/feed-timeline';
import { encodeTask } from '@qls/feed-distribution';
import { createLogger, createNestApp } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { SqsPublisher, queueDepth } from '@qls/sqs';
import { listenLocally, suiteSchema, uniqueName, waitFor } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

describe('feed-fanout-worker app (in process, real servers)', () => {
  const db = suiteSchema({ migrate, readMigrations });
  let redis: Redis;

  beforeAll(async () => {
    redis = db.resources.redis();
  });

  it('applies a queued task to its followers’ feeds, dead-letters an unreadable one, and reports it', async () => {
    const { url, dlqUrl } = await db.resources.queue('fan-out-tasks', { maxReceiveCount: 3 });
    const queue = url.slice(url.lastIndexOf('/') + 1);
    const config = loadConfig(configSchema, {
      ...process.env,
      FAN_OUT_TASKS_QUEUE: queue,
      FAN_OUT_TASKS_DLQ: `${queue}-dlq`,
      LOG_LEVEL: 'silent',
    });
    const service = uniqueName('feed-fanout-worker');
    const app = await createNestApp(
      AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }), pool: db.pool, waitTimeSeconds: 1 }),
    );
    db.resources.onCleanup(() => app.close());
    const base = await listenLocally(app);

    const author = uniqueName('author');
    const fans = [1, 2, 3].map((i) => `${author}-f${i}`);
    await db.pool.query(`INSERT INTO feed_users (id, handle) SELECT id, id FROM unnest($1::text[]) AS id`, [[author, ...fans]]);
    await db.pool.query(`INSERT INTO follows (followee_id, follower_id) SELECT $1, unnest($2::text[])`, [author, fans]);
    const postId = randomUUID();
    const task = {
      schemaVersion: 1 as const,
      action: 'add' as const,
      postId,
      authorId: author,
      score: 42,
      afterFollowerId: fans[0] as string,
      lastFollowerId: fans[2] as string,
      committedAt: Date.now(),
      taskIndex: 0,
    };
    await new SqsPublisher(db.resources.sqs).publish(url, [{ body: encodeTask(task) }, { body: '{"schemaVersion":1}' }]);

    await waitFor(async () => (await redis.zscore(FeedKeys.feed(fans[2] as string), postId)) === '42', {
      timeoutMs: 20_000,
      description: 'the post in the feeds of the task’s range',
    });
    expect(await redis.zscore(FeedKeys.feed(fans[1] as string), postId)).toBe('42');
    expect(await redis.zscore(FeedKeys.feed(fans[0] as string), postId)).toBeNull(); // afterFollowerId is exclusive
    await waitFor(async () => (await queueDepth(db.resources.sqs, dlqUrl as string)).visible === 1, {
      description: 'the unreadable task in the DLQ',
    });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/feed_fanout_tasks_applied_total\{action="add"[^}]*\} 1/);
    expect(metrics).toMatch(/feed_fanout_feed_writes_total\{tier="queued",action="add"[^}]*\} 2/);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
  }, 60_000);
});
