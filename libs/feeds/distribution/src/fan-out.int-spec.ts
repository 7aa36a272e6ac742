import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { FeedCache, type FeedEntry, FeedKeys, FeedRebuilder, FollowGraph, type Ranking } from '@qls/feed-timeline';
import type { FeedEvent } from '@qls/feed-contracts';
import { KafkaGroupAdmin, KafkaPublisher } from '@qls/kafka';
import { Headers } from '@qls/messaging';
import { MetricsRegistry } from '@qls/observability';
import { startTestTelemetry } from '@qls/observability/testing';
import { migrate, readMigrations } from '@qls/provisioning';
import { SqsPublisher, queueDepth } from '@qls/sqs';
import { TestResources, uniqueName, waitFor } from '@qls/testing';
import {
  FanOutConsumer,
  FanOutPlanner,
  FanOutProgress,
  FanOutTaskApplier,
  FanOutWorker,
  FeedFanOut,
  type FanOutMetrics,
  createFanOutMetrics,
  tierOf,
} from './index';
import { FeedModel, feedMismatches, random, randomGraph, readWholeFeed, seedGraph, setFollow } from './testing/feed-model';

const migrations = join(__dirname, '../../../../infra/migrations');
const thresholds = { directBelow: 5, celebrityAt: 20 };
const TASK_SIZE = 3;
const VISIBILITY_SECONDS = 2;

describe('feed fan-out (real Kafka, ElasticMQ, Redis, Postgres)', () => {
  let resources: TestResources;
  let pool: Pool;
  let redis: Redis;
  let publisher: KafkaPublisher;
  let topic: string;
  let deadLetterTopic: string;
  let queue: { url: string; dlqUrl: string };
  let metrics: FanOutMetrics;
  let cache: FeedCache;
  let graph: FollowGraph;
  let progress: FanOutProgress;
  let applier: FanOutTaskApplier;
  let groupId: string;
  let consumer: FanOutConsumer | undefined;
  const consumers: FanOutConsumer[] = [];
  const workers: FanOutWorker[] = [];
  const children: ChildProcess[] = [];
  const models: FeedModel[] = [];

  beforeAll(async () => {
    resources = new TestResources();
    ({ pool } = await resources.postgres());
    await migrate(pool, readMigrations(migrations));
    redis = resources.redis();
    publisher = new KafkaPublisher(resources.kafka);
    [topic, deadLetterTopic] = await Promise.all([resources.topic('posts', 4), resources.topic('posts-dead-letter', 1)]);
    const { url, dlqUrl } = await resources.queue('fan-out-tasks', { visibilityTimeoutSeconds: VISIBILITY_SECONDS, maxReceiveCount: 3 });
    queue = { url, dlqUrl: dlqUrl as string };
    metrics = createFanOutMetrics(new MetricsRegistry({ service: 'test', defaultMetrics: false }));
    cache = new FeedCache(redis, { feedLength: 800, recentLength: 200 });
    graph = new FollowGraph(pool);
    progress = new FanOutProgress(redis);
    applier = new FanOutTaskApplier({ graph, cache, progress, metrics });
    groupId = uniqueName('fan-out');
    consumer = await startConsumer(topic, groupId);
    await startWorkers(2);
  }, 60_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all([...consumers.map((c) => c.stop()), ...workers.map((w) => w.stop())]);
    await publisher?.close();
    await resources?.cleanup();
  });

  function fanOutWith(ranking?: Ranking): FeedFanOut {
    const planner = new FanOutPlanner({
      graph,
      publisher: new SqsPublisher(resources.sqs),
      queueUrl: queue.url,
      taskSize: TASK_SIZE,
      progress,
      metrics,
    });
    return new FeedFanOut({
      graph,
      cache,
      planner,
      applier,
      pool,
      thresholds,
      chunkSize: TASK_SIZE,
      activePeriodMs: 30 * 86_400_000,
      metrics,
      ...(ranking ? { ranking } : {}),
    });
  }

  async function startConsumer(onTopic: string, group: string, ranking?: Ranking): Promise<FanOutConsumer> {
    const started = new FanOutConsumer({
      kafka: resources.kafka,
      groupId: group,
      topic: onTopic,
      deadLetterTopic,
      deadLetterPublisher: publisher,
      fanOut: fanOutWith(ranking),
      metrics,
      maxWaitTimeMs: 100,
      keyConcurrency: 4,
    });
    await started.start();
    consumers.push(started);
    return started;
  }

  async function stopConsumer(stopping: FanOutConsumer): Promise<void> {
    await stopping.stop();
    consumers.splice(consumers.indexOf(stopping), 1);
  }

  async function startWorkers(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const worker = new FanOutWorker({
        sqs: resources.sqs,
        queueUrl: queue.url,
        deadLetterQueueUrl: queue.dlqUrl,
        applier,
        metrics,
        concurrency: 4,
        waitTimeSeconds: 1,
        visibilityTimeoutSeconds: VISIBILITY_SECONDS,
      });
      await worker.start();
      workers.push(worker);
    }
  }

  async function stopWorkers(): Promise<void> {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  }

  /** Produces events straight to the topic, keyed as the feed API's outbox does (author / followee). */
  async function produce(events: readonly FeedEvent[], onTopic = topic, headers: Record<string, string> = {}): Promise<void> {
    await publisher.publish(
      onTopic,
      events.map((event) => ({
        key: event.type === 'PostCreated' || event.type === 'PostDeleted' ? event.authorId : event.followeeId,
        body: JSON.stringify(event),
        headers,
      })),
    );
  }

  async function expectFeedsToMatch(model: FeedModel, description: string): Promise<void> {
    await waitFor(
      async () => {
        const problems = await feedMismatches(cache, graph, model, thresholds.celebrityAt);
        if (problems.length > 0) throw new Error(`${problems.length} feed(s) differ, e.g. ${problems[0]}`);
        return true;
      },
      { timeoutMs: 45_000, intervalMs: 200, description },
    );
  }

  function newUsers(n: number, prefix = 'u'): string[] {
    const base = uniqueName(prefix);
    return Array.from({ length: n }, (_, i) => `${base}-${String(i).padStart(3, '0')}`);
  }

  async function counterTotal(
    counter: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> },
    labels: Record<string, string> = {},
  ): Promise<number> {
    const { values } = await counter.get();
    return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
  }

  it.each([1, 2])(
    'gives every user of a random three-tier follow graph (seed %i) the feed computed from the graph and posts, also after follows, unfollows and deletes',
    async (seed) => {
      const next = random(seed);
      const model = new FeedModel(newUsers(45));
      models.push(model);
      randomGraph(model, next, { celebrities: 2, queued: 6 }, thresholds);
      await seedGraph(pool, model);
      const base = Date.UTC(2026, 0, 1) + seed * 10_000_000;
      let clock = base;
      const tick = () => (clock += 1 + Math.floor(next() * 3));

      const posts: FeedEvent[] = [];
      for (const author of model.users) for (let k = Math.floor(next() * 3); k > 0; k--) posts.push(model.post(author, tick()));
      await produce(posts);
      await expectFeedsToMatch(model, `the feeds after ${posts.length} posts (seed ${seed})`);
      const tiersSeen = new Set(
        model.users.filter((u) => model.followerCount(u) > 0).map((u) => tierOf(model.followerCount(u), thresholds)),
      );
      expect([...tiersSeen].sort()).toEqual(['direct', 'pull', 'queued']);

      // Follows and unfollows that keep each followee in its tier, deletes, and more posts: in log order.
      const changes: FeedEvent[] = [];
      const keepsTier = (followee: string, delta: number) =>
        tierOf(model.followerCount(followee), thresholds) === tierOf(model.followerCount(followee) + delta, thresholds);
      for (let i = 0; i < 60 && changes.length < 10; i++) {
        const [follower, followee] = [
          model.users[Math.floor(next() * model.users.length)],
          model.users[Math.floor(next() * model.users.length)],
        ] as [string, string];
        if (follower === followee || model.follows(follower, followee) || !keepsTier(followee, 1)) continue;
        changes.push(await setFollow(pool, model, follower, followee, true, tick()));
      }
      const pairs = [...model.followers].flatMap(([followee, set]) => [...set].map((follower) => [follower, followee] as const));
      for (let i = 0; i < 10; i++) {
        const [follower, followee] = pairs[Math.floor(next() * pairs.length)] as readonly [string, string];
        if (!model.follows(follower, followee) || !keepsTier(followee, -1)) continue;
        changes.push(await setFollow(pool, model, follower, followee, false, tick()));
      }
      const live = [...model.posts.values()].filter((p) => !model.deleted.has(p.postId));
      for (let i = 0; i < 8; i++) {
        const victim = live[Math.floor(next() * live.length)];
        if (victim && !model.deleted.has(victim.postId)) changes.push(model.delete(victim.postId, tick()));
      }
      for (let i = 0; i < 10; i++) changes.push(model.post(model.users[Math.floor(next() * model.users.length)] as string, tick()));
      await produce(changes);
      await expectFeedsToMatch(model, `the feeds after ${changes.length} follows, unfollows, deletes and posts (seed ${seed})`);

      expect(await counterTotal(metrics.tasksQueued)).toBeGreaterThan(0);
      for (const tier of ['direct', 'queued', 'pull'])
        expect(await counterTotal(metrics.events, { type: 'PostCreated', tier })).toBeGreaterThan(0);
    },
    120_000,
  );

  it('changes no feed when a fan-out task is applied twice or the fan-out group is replayed from the start', async () => {
    const model = models[models.length - 1] as FeedModel;
    const snapshot = async () => {
      const keys = model.users.flatMap((u) => [FeedKeys.feed(u), FeedKeys.recent(u)]);
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.zrange(key, '0', '-1', 'WITHSCORES');
      return ((await pipeline.exec()) ?? []).map(([, value]) => value);
    };
    const before = await snapshot();

    const author = model.users.find((u) => tierOf(model.followerCount(u), thresholds) === 'queued') as string;
    const post = model.post(author, Date.UTC(2026, 1, 1));
    await produce([post]);
    await expectFeedsToMatch(model, 'the feeds with one more post by a queued-tier author');
    const withPost = await snapshot();
    expect(withPost).not.toEqual(before);
    const task = {
      schemaVersion: 1 as const,
      action: 'add' as const,
      postId: (post as { postId: string }).postId,
      authorId: author,
      score: Date.UTC(2026, 1, 1),
      afterFollowerId: null,
      lastFollowerId: '\u{10FFFF}',
      committedAt: Date.now(),
    };
    expect(await applier.apply(task)).toBe(model.followerCount(author));
    await applier.apply(task);
    expect(await snapshot()).toEqual(withPost);

    // Replay: stop the group, rewind it to the start of the log, run it again.
    const handled = await counterTotal(metrics.events);
    await stopConsumer(consumer as FanOutConsumer);
    const admin = new KafkaGroupAdmin(resources.kafka);
    try {
      await admin.applyReset(await admin.planResetToTimestamp(groupId, topic, 0));
      consumer = await startConsumer(topic, groupId);
      const admin2 = resources.kafka.admin();
      await admin2.connect();
      try {
        const ends = await admin2.fetchTopicOffsets(topic);
        const total = ends.reduce((sum, p) => sum + Number(p.high), 0);
        await waitFor(
          async () => {
            const committed = await admin.committedOffsets(groupId, topic);
            return ends.every((end) => committed.find((c) => c.partition === end.partition)?.offset === end.high);
          },
          { timeoutMs: 60_000, intervalMs: 200, description: 'the replayed group back at the end of the log' },
        );
        expect((await counterTotal(metrics.events)) - handled).toBeGreaterThanOrEqual(total);
      } finally {
        await admin2.disconnect();
      }
    } finally {
      await admin.close();
    }
    await waitFor(
      async () => {
        const depth = await queueDepth(resources.sqs, queue.url);
        return depth.visible + depth.inFlight === 0;
      },
      { timeoutMs: 30_000, description: 'the replayed fan-out tasks drained' },
    );
    expect(await snapshot()).toEqual(withPost);
    expect(await feedMismatches(cache, graph, model, thresholds.celebrityAt)).toEqual([]);
  }, 120_000);

  it('ends with complete feeds and no duplicates when a worker is SIGKILLed in the middle of a task', async () => {
    const [author, ...followers] = newUsers(15, 'kill') as [string, ...string[]];
    const model = new FeedModel([author, ...followers]);
    for (const follower of followers) model.followers.get(author)?.add(follower);
    await seedGraph(pool, model);
    expect(tierOf(model.followerCount(author), thresholds)).toBe('queued');

    await stopWorkers();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(__dirname, 'testing/worker.process.ts'),
        JSON.stringify({
          redisUrl: resources.env.REDIS_URL,
          databaseUrl: resources.env.DATABASE_URL,
          schema: (await pool.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s,
          sqsEndpoint: resources.env.SQS_ENDPOINT,
          region: resources.env.AWS_REGION,
          queueUrl: queue.url,
          dlqUrl: queue.dlqUrl,
          visibilityTimeoutSeconds: VISIBILITY_SECONDS,
          stall: true,
        }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes('started'), { timeoutMs: 30_000, description: 'the worker process started' });

    const post = model.post(author, Date.UTC(2026, 2, 1));
    const postId = (post as { postId: string }).postId;
    await produce([post]);
    await waitFor(() => output.includes(`half ${postId}`), { timeoutMs: 30_000, description: 'the worker half-way through a task' });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const partial = await Promise.all(followers.map(async (f) => (await redis.zscore(FeedKeys.feed(f), postId)) !== null));
    expect(partial.filter(Boolean).length).toBeGreaterThan(0);
    expect(partial.filter(Boolean).length).toBeLessThan(followers.length);

    await startWorkers(2);
    await expectFeedsToMatch(model, 'every follower’s feed after the killed task was redelivered');
    for (const follower of followers) {
      const ids = (await readWholeFeed(cache, graph, follower, thresholds.celebrityAt)).map((e) => e.postId);
      expect(ids).toEqual([postId]);
    }
    const tasks = Math.ceil(followers.length / TASK_SIZE);
    await waitFor(async () => (await progress.status(postId, 'add')).done === tasks, { description: 'every task of the post applied' });
    expect(await queueDepth(resources.sqs, queue.dlqUrl)).toMatchObject({ visible: 0 });
  }, 120_000);

  it('has a celebrity’s post in a follower’s feed on the next read, without writing any feed', async () => {
    const [celebrity, ...followers] = newUsers(thresholds.celebrityAt + 1, 'celeb') as [string, ...string[]];
    const model = new FeedModel([celebrity, ...followers]);
    for (const follower of followers) model.followers.get(celebrity)?.add(follower);
    await seedGraph(pool, model);
    const writes = await counterTotal(metrics.feedWrites);
    const queued = await counterTotal(metrics.tasksQueued);
    const pulled = await counterTotal(metrics.events, { type: 'PostCreated', tier: 'pull' });

    const post = model.post(celebrity, Date.now());
    const postId = (post as { postId: string }).postId;
    await produce([post]);
    await waitFor(async () => (await counterTotal(metrics.events, { type: 'PostCreated', tier: 'pull' })) > pulled, {
      description: 'the celebrity’s post handled',
    });

    const page = await cache.read(followers[0] as string, {
      pulledAuthorIds: await graph.celebritiesFollowedBy(followers[0] as string, thresholds.celebrityAt),
      limit: 10,
    });
    expect(page.items.map((e) => e.postId)).toEqual([postId]);
    expect(await counterTotal(metrics.feedWrites)).toBe(writes);
    expect(await counterTotal(metrics.tasksQueued)).toBe(queued);
    const pushed = await Promise.all(followers.map((f) => redis.exists(FeedKeys.feed(f))));
    expect(pushed.every((n) => n === 0)).toBe(true);
  }, 60_000);

  it('keeps each author’s posts in posting order under concurrent posting', async () => {
    // Scored by the order the consumer handles them, so the feed shows handling order.
    let handled = 0;
    const byHandling: Ranking = () => ++handled;
    const orderTopic = await resources.topic('posts-order', 3);
    const orderConsumer = await startConsumer(orderTopic, uniqueName('fan-out-order'), byHandling);
    const users = newUsers(14, 'order');
    const authors = users.slice(0, 6);
    const readers = users.slice(6);
    const model = new FeedModel(users);
    authors.forEach((author, i) => {
      // Five authors with 2–4 readers (direct), one with 6 (queued).
      const count = i === 5 ? 6 : 2 + (i % 3);
      for (const reader of readers.slice(0, count)) model.followers.get(author)?.add(reader);
    });
    await seedGraph(pool, model);

    const sent = new Map<string, string[]>(authors.map((a) => [a, []]));
    await Promise.all(
      authors.map(async (author) => {
        for (let i = 0; i < 15; i++) {
          const event = model.post(author, 0);
          sent.get(author)?.push((event as { postId: string }).postId);
          await produce([event], orderTopic);
        }
      }),
    );
    await waitFor(
      async () => {
        for (const reader of readers) {
          const expected = authors.filter((a) => model.follows(reader, a)).length * 15;
          if ((await cache.pushed(reader)).length !== expected) return false;
        }
        return true;
      },
      { timeoutMs: 45_000, intervalMs: 200, description: 'every post in its readers’ feeds' },
    );
    for (const reader of readers) {
      const feed = (await cache.pushed(reader)).map((e) => e.postId);
      for (const author of authors.filter((a) => model.follows(reader, a))) {
        const mine = new Set(sent.get(author));
        expect(feed.filter((id) => mine.has(id)).reverse()).toEqual(sent.get(author));
      }
    }
    await stopConsumer(orderConsumer);
  }, 90_000);

  /** A post written to the database as the feed API does (the fan-out and rebuilds read it there), and its PostCreated event. */
  async function storedPost(model: FeedModel, author: string, createdAt: number): Promise<FeedEvent & { postId: string }> {
    const event = model.post(author, createdAt) as FeedEvent & { postId: string };
    await pool.query(
      `INSERT INTO posts (id, author_id, body, created_at) VALUES ($1, $2, 'stored', 'epoch'::timestamptz + $3 * interval '1 millisecond')`,
      [event.postId, author, createdAt],
    );
    return event;
  }

  it('keeps every feed exact, no post lost or twice, while an author crosses the celebrity threshold up, down and up again, posting and deleting', async () => {
    const [author, ...users] = newUsers(thresholds.celebrityAt + 3, 'crossing') as [string, ...string[]];
    const model = new FeedModel([author, ...users]);
    for (const user of users.slice(0, thresholds.celebrityAt - 1)) model.followers.get(author)?.add(user);
    await seedGraph(pool, model);
    const [joiner, second] = users.slice(thresholds.celebrityAt - 1) as [string, string];
    // Event times follow the wall clock: whether a post may have been pushed is decided against when the author crossed.
    let clock = 0;
    const tick = () => (clock = Math.max(clock + 1, Date.now()));
    const follow = (user: string, on: boolean) => setFollow(pool, model, user, author, on, tick());

    const p1 = await storedPost(model, author, tick());
    await produce([p1]);
    await expectFeedsToMatch(model, 'a queued-tier post');
    expect(tierOf(model.followerCount(author), thresholds)).toBe('queued');

    await produce([await follow(joiner, true), await storedPost(model, author, tick())]);
    expect(tierOf(model.followerCount(author), thresholds)).toBe('pull');
    await produce([await follow(second, true)]);
    await expectFeedsToMatch(model, 'after crossing up: a pulled post, and a follower who joined a celebrity');

    const p3 = await storedPost(model, author, tick());
    await produce([await follow(joiner, false), await follow(second, false), p3]);
    expect(tierOf(model.followerCount(author), thresholds)).toBe('queued');
    await expectFeedsToMatch(model, 'after crossing down: the pulled post still in every feed, next to a pushed one');

    const p4 = await storedPost(model, author, tick());
    await produce([await follow(joiner, true), p4]);
    expect(tierOf(model.followerCount(author), thresholds)).toBe('pull');
    await pool.query('UPDATE posts SET deleted_at = now() WHERE id = ANY($1::uuid[])', [[p1.postId, p3.postId, p4.postId]]);
    await produce([p1, p3, p4].map((p) => model.delete(p.postId, tick())));
    await expectFeedsToMatch(
      model,
      'after crossing up again: deleted from every feed, a post pushed before the first crossing and one pushed below it again',
    );
  }, 180_000);

  it('loses no post and resurrects no deleted one when posts are fanned out and deleted between a rebuild’s read and its write', async () => {
    const [author, ...followers] = newUsers(4, 'race') as [string, ...string[]];
    const model = new FeedModel([author, ...followers]);
    for (const follower of followers) model.followers.get(author)?.add(follower);
    await seedGraph(pool, model);
    const reader = followers[0] as string;
    let clock = Date.UTC(2026, 3, 1);
    const live: string[] = [];
    const post = async () => {
      const event = await storedPost(model, author, ++clock);
      await produce([event]);
      live.push(event.postId);
    };
    await post();
    await post();
    await expectFeedsToMatch(model, 'two posts before the rebuild');

    /** While a rebuild is paused: one post more and the oldest live one deleted, both through the fan-out. */
    const fanOutMeanwhile = async () => {
      await post();
      const deleted = live.shift() as string;
      await pool.query('UPDATE posts SET deleted_at = now() WHERE id = $1', [deleted]);
      await produce([model.delete(deleted, ++clock)]);
      const added = live.at(-1) as string;
      await waitFor(
        async () => {
          const ids = [...(await cache.pushed(reader)), ...(await cache.recent(author, 200))].map((e) => e.postId);
          return ids.filter((id) => id === added).length === 2 && !ids.includes(deleted);
        },
        { description: 'the new post and the delete fanned out while the rebuild is paused' },
      );
    };
    const paused = { feed: false, recent: false };
    /** The rebuilder's cache client, paused between each rebuild's read and its write while the fan-out goes on. */
    class PausedCache extends FeedCache {
      override async replaceFeed(userId: string, entries: readonly FeedEntry[]): Promise<void> {
        if (!paused.feed) await fanOutMeanwhile().then(() => (paused.feed = true));
        await super.replaceFeed(userId, entries);
      }
      override async replaceRecent(authorId: string, entries: readonly FeedEntry[]): Promise<void> {
        if (!paused.recent) await fanOutMeanwhile().then(() => (paused.recent = true));
        await super.replaceRecent(authorId, entries);
      }
    }
    const rebuilder = new FeedRebuilder(pool, new PausedCache(redis, { feedLength: 800, recentLength: 200 }), {
      celebrityThreshold: thresholds.celebrityAt,
    });

    await rebuilder.rebuildRecent(author);
    await rebuilder.rebuildFeed(reader);

    expect(paused).toEqual({ feed: true, recent: true });
    expect(await feedMismatches(cache, graph, model, thresholds.celebrityAt)).toEqual([]);
    expect((await cache.recent(author, 200)).map((e) => e.postId)).toEqual([...live].reverse());
  }, 60_000);

  it('pushes only to followers seen within the active period, in both push tiers', async () => {
    const [small, large, ...fans] = newUsers(12, 'active') as [string, string, ...string[]];
    const model = new FeedModel([small, large, ...fans]);
    for (const fan of fans.slice(0, 3)) model.followers.get(small)?.add(fan);
    for (const fan of fans) model.followers.get(large)?.add(fan);
    await seedGraph(pool, model);
    const inactive = [fans[0], fans[5], fans[8]] as string[];
    await pool.query(`UPDATE feed_users SET last_active_at = now() - interval '60 days' WHERE id = ANY($1::text[])`, [inactive]);
    expect([tierOf(3, thresholds), tierOf(10, thresholds)]).toEqual(['direct', 'queued']);

    const posts = [model.post(small, Date.now()), model.post(large, Date.now())];
    for (const user of inactive) model.followers.forEach((set) => set.delete(user)); // the reference: inactive users get nothing pushed
    await produce(posts);
    await expectFeedsToMatch(model, 'the posts in the active followers’ feeds');
    for (const user of inactive) expect(await cache.pushed(user)).toEqual([]);
  }, 60_000);

  it('continues the post’s trace through the fan-out consumer, the SQS task and the worker', async () => {
    const telemetry = startTestTelemetry();
    try {
      const [author, ...followers] = newUsers(7, 'trace') as [string, ...string[]];
      const model = new FeedModel([author, ...followers]);
      for (const follower of followers) model.followers.get(author)?.add(follower);
      await seedGraph(pool, model);
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      await produce([model.post(author, Date.now())], topic, { [Headers.traceparent]: `00-${traceId}-00f067aa0ba902b7-01` });
      await expectFeedsToMatch(model, 'the traced post in every feed');

      const inTrace = telemetry.spans().filter((s) => s.spanContext().traceId === traceId);
      const queueName = queue.url.slice(queue.url.lastIndexOf('/') + 1);
      expect(inTrace.filter((s) => s.kind === SpanKind.CONSUMER && s.name === `process ${topic}`)).toHaveLength(1);
      expect(inTrace.filter((s) => s.kind === SpanKind.PRODUCER && s.name === `send ${queueName}`).length).toBeGreaterThan(0);
      expect(inTrace.filter((s) => s.kind === SpanKind.CONSUMER && s.name === `process ${queueName}`)).toHaveLength(
        Math.ceil(6 / TASK_SIZE),
      );
    } finally {
      await telemetry.shutdown();
    }
  }, 60_000);

  it('sends unreadable events to the dead-letter topic with the reason, and goes on', async () => {
    const [author, follower] = newUsers(2, 'dlt') as [string, string];
    const model = new FeedModel([author, follower]);
    model.followers.get(author)?.add(follower);
    await seedGraph(pool, model);
    await publisher.publish(topic, [
      { key: author, body: '{not json' },
      {
        key: author,
        body: JSON.stringify({ type: 'PostCreated', schemaVersion: 1, postId: 'nope', authorId: author, body: '', createdAt: 1 }),
      },
    ]);
    await produce([model.post(author, Date.now())]);
    await expectFeedsToMatch(model, 'the valid post after two unreadable ones');

    const reader = resources.kafka.consumer({ groupId: uniqueName('dlt-reader') });
    const letters: { reason: string; code: string }[] = [];
    await reader.connect();
    try {
      await reader.subscribe({ topics: [deadLetterTopic], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) =>
          void letters.push({
            reason: message.headers?.[Headers.errorReason]?.toString() ?? '',
            code: message.headers?.[Headers.errorCode]?.toString() ?? '',
          }),
      });
      await waitFor(() => letters.length >= 2, { timeoutMs: 20_000, description: 'two dead letters' });
    } finally {
      await reader.disconnect();
    }
    expect(letters.map((l) => l.code)).toEqual(['FANOUT.EVENT_UNREADABLE', 'FANOUT.EVENT_UNREADABLE']);
    expect(letters[0]?.reason).toMatch(/JSON/);
    expect(letters[1]?.reason).toMatch(/^event invalid: postId: /);
    expect(await counterTotal(metrics.deadLettered)).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('dead-letters an unreadable event byte for byte: a key, value and header that are not UTF-8 arrive unchanged', async () => {
    const [author, follower] = newUsers(2, 'dlt-bytes') as [string, string];
    const model = new FeedModel([author, follower]);
    model.followers.get(author)?.add(follower);
    await seedGraph(pool, model);
    const key = Buffer.concat([Buffer.from(author), Buffer.from([0xc3, 0x28])]);
    const value = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x7d]);
    const header = Buffer.from([0xe2, 0x82, 0x28, 0xa1]);
    await publisher.publishRecords(topic, [{ key, value, headers: { 'x-binary': header } }]);
    await produce([model.post(author, Date.now())]);
    await expectFeedsToMatch(model, 'the valid post after an unreadable binary one');

    const reader = resources.kafka.consumer({ groupId: uniqueName('dlt-bytes-reader') });
    const letters: { key: Buffer | null; value: Buffer | null; header: unknown; source: string }[] = [];
    await reader.connect();
    try {
      await reader.subscribe({ topics: [deadLetterTopic], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) =>
          void letters.push({
            key: message.key,
            value: message.value,
            header: message.headers?.['x-binary'],
            source: message.headers?.[Headers.originalSource]?.toString() ?? '',
          }),
      });
      await waitFor(() => letters.some((l) => l.key?.equals(key)), { timeoutMs: 20_000, description: 'the binary dead letter' });
    } finally {
      await reader.disconnect();
    }
    const letter = letters.find((l) => l.key?.equals(key));
    expect(letter?.value?.equals(value)).toBe(true);
    expect(Buffer.isBuffer(letter?.header) && letter.header.equals(header)).toBe(true);
    expect(letter?.source).toMatch(new RegExp(`^${topic}/\\d+/\\d+$`));
  }, 60_000);
});
