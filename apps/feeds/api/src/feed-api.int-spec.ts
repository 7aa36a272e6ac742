import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig } from '@qls/config';
import { FeedCache, FeedKeys, FeedRebuilder, FollowGraph } from '@qls/feed-timeline';
import { FeedReader, createFeedApiMetrics } from '@qls/feed-service';
import type { FeedEvent } from '@qls/feed-contracts';
import { AnalyticsProjection, PostsIndexConsumer, SearchProjection, createIndexerMetrics } from '@qls/feed-indexing';
import { KafkaGroupAdmin, KafkaPublisher } from '@qls/kafka';
import { MetricsRegistry, createLogger } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { type UserTokens, freePort, listenLocally, suiteSchema, uniqueName, userTokens, waitFor } from '@qls/testing';
import { type Config, configSchema } from './config';
import { createHttpApp } from './http-app';

/**
 * The app in this process on port 0, against the local Postgres (a schema of
 * its own, passed in as the db.pool) and Redis (a key prefix of its own), with a
 * key pair made here: the tests sign their own tokens. No fan-out runs: where
 * a test needs what the fan-out would have written, it writes it with FeedCache.
 */
const BODY_LIMIT = 8 * 1024;
const BURST = 12;
const CELEBRITY_THRESHOLD = 3;

interface ErrorBody {
  code: string;
  message: string;
  field?: string;
}

describe('feed-api (in process, real Postgres and Redis)', () => {
  const db = suiteSchema({ migrate, readMigrations });
  let baseUrl: string;
  let users: UserTokens;
  let redis: Redis;
  let cache: FeedCache;
  let config: Config;
  const topic = uniqueName('posts-api-test');

  beforeAll(async () => {
    users = await userTokens('feed-api');
    const redisKeyPrefix = `${uniqueName('feed-api-test')}:`;
    redis = new Redis(db.resources.env.REDIS_URL, { keyPrefix: redisKeyPrefix });
    db.resources.onCleanup(() => redis.quit());
    cache = new FeedCache(redis);
    config = loadConfig(configSchema, {
      DATABASE_URL: db.resources.env.DATABASE_URL,
      REDIS_URL: db.resources.env.REDIS_URL,
      ...users.env,
      HTTP_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      RATE_LIMIT_PER_SECOND: '0.2',
      RATE_LIMIT_BURST: String(BURST),
      POSTS_TOPIC: topic,
      FEED_CELEBRITY_THRESHOLD: String(CELEBRITY_THRESHOLD),
    });
    const app = await createHttpApp({
      config,
      service: uniqueName('feed-api'),
      logger: createLogger({ service: 'test', level: 'silent' }),
      pool: db.pool,
      redisKeyPrefix,
    });
    db.resources.onCleanup(() => app.close());
    baseUrl = await listenLocally(app);
  });

  const token = (sub: string, expiresAt: string | number = '5m') => users.token(sub, { expiresAt });

  async function call(as: string, method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${await token(as)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  }

  async function ok<T>(response: Response, status = 200): Promise<T> {
    const body = (await response.json()) as T;
    expect({ status: response.status, body }).toEqual({ status, body: expect.anything() });
    return body;
  }

  async function errorOf(response: Response): Promise<ErrorBody> {
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    return ((await response.json()) as { error: ErrorBody }).error;
  }

  /** A new user (its own rate-limit bucket), created through the API. */
  async function newUser(prefix = 'user'): Promise<string> {
    const id = uniqueName(prefix);
    const response = await call(id, 'POST', '/users', { handle: id.replaceAll('-', '_').slice(0, 30) });
    expect(response.status).toBe(201);
    return id;
  }

  async function newPost(author: string, body: string): Promise<{ id: string; createdAt: string }> {
    return ok(await call(author, 'POST', '/posts', { body }), 201);
  }

  async function outboxOf(key: string): Promise<{ event_type: string; destination: string; aggregate_id: string; payload: FeedEvent }[]> {
    const { rows } = await db.pool.query(
      'SELECT event_type, destination, aggregate_id, payload FROM outbox WHERE message_key = $1 ORDER BY id',
      [key],
    );
    return rows;
  }

  type Page = { items: { id: string; authorId: string; body: string }[]; nextCursor: string | null; regenerating: boolean };

  it('creates the caller as a user, answers a repeat with 200 and refuses another handle or a taken one', async () => {
    const id = uniqueName('ada');
    const created = await ok<{ id: string; handle: string; followerCount: number }>(
      await call(id, 'POST', '/users', { handle: 'ada_x' + id.slice(-6) }),
      201,
    );
    expect(created).toMatchObject({ id, followerCount: 0, followingCount: 0 });

    expect((await call(id, 'POST', '/users', { handle: created.handle })).status).toBe(200);
    expect(await errorOf(await call(id, 'POST', '/users', { handle: 'another' }))).toMatchObject({
      code: 'FEED.USER_EXISTS',
      field: 'handle',
    });
    const other = uniqueName('bob');
    const taken = await call(other, 'POST', '/users', { handle: created.handle });
    expect([taken.status, (await errorOf(taken)).code]).toEqual([409, 'FEED.HANDLE_TAKEN']);
    expect(await ok(await call(other, 'GET', `/users/${id}`))).toEqual({ ...created, followingCount: 0 });
    expect((await call(other, 'GET', `/users/${uniqueName('nobody')}`)).status).toBe(404);
  });

  it('writes a post and its PostCreated event (keyed by the author) in one transaction; a retry with the same postId writes nothing', async () => {
    const author = await newUser('author');
    const postId = randomUUID();

    const response = await call(author, 'POST', '/posts', { body: 'hello, log', postId });
    const post = await ok<{ id: string; createdAt: string }>(response, 201);
    expect(post).toEqual({
      id: postId,
      authorId: author,
      authorHandle: expect.any(String),
      body: 'hello, log',
      createdAt: expect.any(String),
    });
    expect(response.headers.get('location')).toBe(`/posts/${postId}`);
    expect(await outboxOf(author)).toEqual([
      {
        event_type: 'PostCreated.v1',
        destination: `kafka:${topic}`,
        aggregate_id: author,
        payload: {
          type: 'PostCreated',
          schemaVersion: 1,
          postId,
          authorId: author,
          body: 'hello, log',
          createdAt: Date.parse(post.createdAt),
        },
      },
    ]);

    expect((await call(author, 'POST', '/posts', { body: 'hello, log', postId })).status).toBe(200);
    expect((await call(author, 'POST', '/posts', { body: 'something else', postId })).status).toBe(409);
    expect(await ok(await call(author, 'GET', `/posts/${postId}`))).toEqual(post);
    expect(await outboxOf(author)).toHaveLength(1);
  });

  it('lets only the author delete a post: soft delete and PostDeleted, then 404; deleting again is a no-op', async () => {
    const [author, stranger] = [await newUser('author'), await newUser('stranger')];
    const post = await newPost(author, 'regrettable');

    const forbidden = await call(stranger, 'DELETE', `/posts/${post.id}`);
    expect([forbidden.status, (await errorOf(forbidden)).code]).toEqual([403, 'FEED.FORBIDDEN']);
    expect((await call(author, 'DELETE', `/posts/${post.id}`)).status).toBe(204);
    expect((await call(author, 'DELETE', `/posts/${post.id}`)).status).toBe(204);

    expect((await call(author, 'GET', `/posts/${post.id}`)).status).toBe(404);
    expect((await db.pool.query('SELECT deleted_at IS NOT NULL AS deleted FROM posts WHERE id = $1', [post.id])).rows).toEqual([
      { deleted: true },
    ]);
    expect((await outboxOf(author)).map((row) => [row.event_type, row.payload.type])).toEqual([
      ['PostCreated.v1', 'PostCreated'],
      ['PostDeleted.v1', 'PostDeleted'],
    ]);
  });

  it('follows and unfollows idempotently, keeping follower_count in step and writing one event per change, keyed by the followee', async () => {
    const [fan, star] = [await newUser('fan'), await newUser('star')];

    const first = await call(fan, 'PUT', `/users/${fan}/following/${star}`);
    expect([first.status, await first.json()]).toEqual([
      201,
      { followerId: fan, followeeId: star, following: true, followeeFollowerCount: 1 },
    ]);
    expect((await call(fan, 'PUT', `/users/${fan}/following/${star}`)).status).toBe(200);
    expect(await ok(await call(fan, 'GET', `/users/${star}`))).toMatchObject({ followerCount: 1 });
    expect(await ok(await call(fan, 'GET', `/users/${fan}`))).toMatchObject({ followingCount: 1 });

    const unfollowed = await ok(await call(fan, 'DELETE', `/users/${fan}/following/${star}`));
    expect(unfollowed).toEqual({ followerId: fan, followeeId: star, following: false, followeeFollowerCount: 0 });
    expect(await ok(await call(fan, 'DELETE', `/users/${fan}/following/${star}`))).toEqual(unfollowed);

    expect((await outboxOf(star)).map((row) => [row.event_type, row.aggregate_id, row.payload])).toEqual([
      ['Followed.v1', star, { type: 'Followed', schemaVersion: 1, followerId: fan, followeeId: star, at: expect.any(Number) }],
      ['Unfollowed.v1', star, { type: 'Unfollowed', schemaVersion: 1, followerId: fan, followeeId: star, at: expect.any(Number) }],
    ]);
  });

  it('lets a user follow only as themselves, and not themselves nor a user that does not exist', async () => {
    const [me, other] = [await newUser('me'), await newUser('other')];

    const asOther = await call(me, 'PUT', `/users/${other}/following/${me}`);
    expect([asOther.status, await errorOf(asOther)]).toEqual([403, expect.objectContaining({ code: 'FEED.FORBIDDEN', field: 'id' })]);
    expect(await errorOf(await call(me, 'PUT', `/users/${me}/following/${me}`))).toMatchObject({
      code: 'FEED.VALIDATION_FAILED',
      field: 'followeeId',
    });
    expect((await call(me, 'PUT', `/users/${me}/following/${uniqueName('ghost')}`)).status).toBe(404);
    const unregistered = await call(uniqueName('newcomer'), 'POST', '/posts', { body: 'hi' });
    expect([unregistered.status, (await errorOf(unregistered)).code]).toEqual([403, 'FEED.NOT_REGISTERED']);
  });

  it.each([
    ['an unknown field', 'POST', '/posts', { body: 'hi', visibility: 'public' }, 'visibility'],
    ['a missing body', 'POST', '/posts', {}, 'body'],
    ['a bad handle', 'POST', '/users', { handle: 'no spaces' }, 'handle'],
    ['a bad limit', 'GET', '/feed?limit=0', undefined, 'limit'],
    ['an unknown parameter', 'GET', '/feed?page=2', undefined, 'page'],
    ['a forged cursor', 'GET', '/feed?cursor=bm90LWEtY3Vyc29y', undefined, 'cursor'],
    ['a blank search', 'GET', '/search?q=%20', undefined, 'q'],
  ])('answers %s with 400 naming the field', async (_what, method, path, body, field) => {
    const user = await newUser();
    const response = await call(user, method, path, body);

    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: 'FEED.VALIDATION_FAILED', field, message: expect.stringContaining(field) });
  });

  it('answers malformed JSON with 400, a body over the limit with 413 and a missing or expired token with 401', async () => {
    const user = await newUser();
    expect(await errorOf(await call(user, 'POST', '/posts', '{"body": '))).toMatchObject({ code: 'REQUEST.MALFORMED_JSON' });
    const tooLarge = await call(user, 'POST', '/posts', { body: 'x'.repeat(BODY_LIMIT) });
    expect([tooLarge.status, (await errorOf(tooLarge)).code]).toEqual([413, 'REQUEST.TOO_LARGE']);

    const missing = await fetch(`${baseUrl}/feed`);
    expect([missing.status, missing.headers.get('www-authenticate'), (await errorOf(missing)).message]).toEqual([
      401,
      'Bearer',
      'missing bearer token',
    ]);
    const expired = await fetch(`${baseUrl}/feed`, {
      headers: { authorization: `Bearer ${await token(user, Math.floor(Date.now() / 1000) - 60)}` },
    });
    expect([expired.status, (await errorOf(expired)).message]).toEqual([401, 'token expired']);
  });

  it('answers 429 with Retry-After once a user has spent the burst, while other users go on', async () => {
    const user = uniqueName('busy');
    const statuses: number[] = [];
    for (let i = 0; i < BURST; i++) statuses.push((await call(user, 'GET', `/posts/${randomUUID()}`)).status);
    const limited = await call(user, 'GET', `/posts/${randomUUID()}`);

    expect(statuses).toEqual(Array(BURST).fill(404));
    expect([limited.status, limited.headers.get('retry-after'), (await errorOf(limited)).code]).toEqual([429, '5', 'FEED.RATE_LIMITED']);
    expect((await call(uniqueName('calm'), 'GET', `/posts/${randomUUID()}`)).status).toBe(404);
  });

  it("merges a followed celebrity's recent post into the feed on read, with no write to the follower's feed", async () => {
    const [reader, friend, celebrity] = [await newUser('reader'), await newUser('friend'), await newUser('celebrity')];
    await call(reader, 'PUT', `/users/${reader}/following/${friend}`);
    await call(reader, 'PUT', `/users/${reader}/following/${celebrity}`);
    // The celebrity's other followers, as counted by follows elsewhere.
    await db.pool.query('UPDATE feed_users SET follower_count = $2 WHERE id = $1', [celebrity, CELEBRITY_THRESHOLD]);
    const friendPost = await newPost(friend, 'pushed by the fan-out');
    const celebrityPost = await newPost(celebrity, 'merged on read');
    // What the fan-out does: a friend's post is pushed into the reader's feed; a celebrity's only goes into their recent posts.
    await cache.addToFeeds([reader], { postId: friendPost.id, score: Date.parse(friendPost.createdAt) });
    await cache.addRecent(celebrity, { postId: celebrityPost.id, score: Date.parse(celebrityPost.createdAt) });
    const feedBefore = await cache.pushed(reader);

    const page = await ok<Page>(await call(reader, 'GET', '/feed'));

    expect(page.items.map((item) => [item.id, item.body])).toEqual([
      [celebrityPost.id, 'merged on read'],
      [friendPost.id, 'pushed by the fan-out'],
    ]);
    expect(page).toMatchObject({ nextCursor: null, regenerating: false });
    expect(await cache.pushed(reader)).toEqual(feedBefore);
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/feed_read_duration_seconds_count\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(/feed_read_celebrity_merges_bucket\{le="1",[^}]*\} [1-9]/);
    expect(metrics).toMatch(/feed_api_requests_total\{[^}]*operation="read_feed",outcome="ok"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/feed_api_requests_total\{[^}]*operation="create_post",outcome="FEED.VALIDATION_FAILED"[^}]*\} [1-9]/);
  });

  it('pages through the feed with cursors, skipping deleted posts, and answers the last page with no cursor', async () => {
    const [reader, friend] = [await newUser('reader'), await newUser('friend')];
    const posts = [];
    for (let i = 0; i < 7; i++) posts.push(await newPost(friend, `post ${i}`));
    for (const post of posts) await cache.addToFeeds([reader], { postId: post.id, score: Date.parse(post.createdAt) });
    await call(friend, 'DELETE', `/posts/${posts[5]?.id}`);

    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await ok<Page>(await call(reader, 'GET', `/feed?limit=3${cursor ? `&cursor=${cursor}` : ''}`));
      pages.push(page.items.map((item) => item.body));
      cursor = page.nextCursor;
    } while (cursor !== null && pages.length < 5);

    expect(pages).toEqual([
      ['post 6', 'post 4', 'post 3'],
      ['post 2', 'post 1', 'post 0'],
    ]);
  });

  /** A user who follows a friend, inactive for 40 days, while the friend posted twice (no fan-out pushed to them). */
  async function sleeperWithNews(): Promise<{ sleeper: string; posts: { id: string }[] }> {
    const [sleeper, friend] = [await newUser('sleeper'), await newUser('friend')];
    await call(sleeper, 'PUT', `/users/${sleeper}/following/${friend}`);
    const posts = [await newPost(friend, 'while you were away'), await newPost(friend, 'and this too')];
    await db.pool.query(`UPDATE feed_users SET last_active_at = now() - interval '40 days' WHERE id = $1`, [sleeper]);
    return { sleeper, posts };
  }

  it("answers an inactive user's first read with the posts made while they were away, rebuilding the feed inline within the latency budget", async () => {
    const { sleeper, posts } = await sleeperWithNews();

    const first = await ok<Page>(await call(sleeper, 'GET', '/feed'));

    expect(first).toMatchObject({ regenerating: false, nextCursor: null });
    expect(first.items.map((item) => item.id)).toEqual([posts[1]?.id, posts[0]?.id]);
    expect(await redis.exists(FeedKeys.regenerating(sleeper))).toBe(0);
    const { rows } = await db.pool.query(`SELECT last_active_at > now() - interval '1 minute' AS active FROM feed_users WHERE id = $1`, [
      sleeper,
    ]);
    expect(rows).toEqual([{ active: true }]);
  });

  it('answers what is ready with regenerating: true when the rebuild outlasts the budget, and has the posts once it is done', async () => {
    const { sleeper, posts } = await sleeperWithNews();
    const graph = new FollowGraph(db.pool);
    const noBudget = new FeedReader(
      {
        pool: db.pool,
        cache,
        graph,
        rebuilder: new FeedRebuilder(db.pool, cache, { celebrityThreshold: CELEBRITY_THRESHOLD }),
        metrics: createFeedApiMetrics(new MetricsRegistry({ service: 'test', defaultMetrics: false })),
      },
      {
        celebrityThreshold: CELEBRITY_THRESHOLD,
        activeDays: 30,
        touchIntervalSeconds: 60,
        regeneratingTtlSeconds: 60,
        inlineRebuildBudgetMs: 0,
      },
    );

    const first = await noBudget.read({ userId: sleeper }, {});
    expect(first).toEqual({ items: [], nextCursor: null, regenerating: true });

    await noBudget.idle();
    expect(await redis.exists(FeedKeys.regenerating(sleeper))).toBe(0);
    const second = await noBudget.read({ userId: sleeper }, {});
    expect(second).toMatchObject({ regenerating: false, nextCursor: null });
    expect(second.items.map((item) => item.id)).toEqual([posts[1]?.id, posts[0]?.id]);
  });

  it('answers GET /feed with 503 FEED.UNAVAILABLE and Retry-After while the feed cache (Redis) is unreachable', async () => {
    const user = await newUser('cacheless');
    // The same app on the same database, with Redis on a port nothing listens on (the rate limiter fails open).
    const cacheless = await createHttpApp({
      config: { ...config, REDIS_URL: `redis://127.0.0.1:${await freePort()}` },
      service: uniqueName('feed-api'),
      logger: createLogger({ service: 'test', level: 'silent' }),
      pool: db.pool,
    });
    db.resources.onCleanup(() => cacheless.close());
    const url = await listenLocally(cacheless);

    const response = await fetch(`${url}/feed`, { headers: { authorization: `Bearer ${await token(user)}` } });

    expect([response.status, response.headers.get('retry-after'), await errorOf(response)]).toEqual([
      503,
      '1',
      { code: 'FEED.UNAVAILABLE', message: 'the feed cache is unavailable; retry later' },
    ]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/feed_api_requests_total\{[^}]*operation="read_feed",outcome="FEED.UNAVAILABLE"[^}]*\} 1/);
    expect(metrics).toMatch(/feed_api_rate_limiter_errors_total\{[^}]*\} 1/);
  });

  it('answers search and stats from the projections once the indexer has consumed the events', async () => {
    const author = await newUser('writer');
    const eventsTopic = await db.resources.topic('posts-search-test', 2);
    const deadLetterTopic = await db.resources.topic('posts-dead-letter-test', 1);
    const at = Date.UTC(2026, 0, 10, 9, 15);
    const events: FeedEvent[] = [
      {
        type: 'PostCreated',
        schemaVersion: 1,
        postId: randomUUID(),
        authorId: author,
        body: 'kafka consumer groups replay',
        createdAt: at,
      },
      { type: 'PostCreated', schemaVersion: 1, postId: randomUUID(), authorId: author, body: 'kafka kafka kafka', createdAt: at + 1_000 },
      { type: 'PostCreated', schemaVersion: 1, postId: randomUUID(), authorId: author, body: 'sqs queues', createdAt: at + 3_600_000 },
    ];
    const publisher = new KafkaPublisher(db.resources.kafka);
    db.resources.onCleanup(() => publisher.close());
    await publisher.publish(
      eventsTopic,
      events.map((event) => ({ key: author, body: JSON.stringify(event) })),
    );
    const metrics = createIndexerMetrics(new MetricsRegistry({ service: 'test', defaultMetrics: false }));
    const groups = [new SearchProjection(db.pool), new AnalyticsProjection(db.pool)].map((projection) => ({
      groupId: uniqueName(projection.name),
      consumer: undefined as PostsIndexConsumer | undefined,
      projection,
    }));
    for (const group of groups) {
      group.consumer = new PostsIndexConsumer({
        kafka: db.resources.kafka,
        groupId: group.groupId,
        topic: eventsTopic,
        projection: group.projection,
        deadLetterTopic,
        deadLetterPublisher: publisher,
        metrics,
      });
      db.resources.onCleanup(() => group.consumer?.stop() ?? Promise.resolve());
      await group.consumer.start();
    }
    const groupAdmin = new KafkaGroupAdmin(db.resources.kafka);
    db.resources.onCleanup(() => groupAdmin.close());
    await waitFor(
      async () => {
        const committed = await Promise.all(groups.map((g) => groupAdmin.committedOffsets(g.groupId, eventsTopic)));
        return committed.every((offsets) => offsets.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) === events.length);
      },
      { description: 'both indexer groups consumed the events', timeoutMs: 30_000 },
    );

    const first = await ok<{ items: { body: string; rank: number }[]; nextCursor: string }>(
      await call(author, 'GET', '/search?q=kafka&limit=1'),
    );
    expect(first.items.map((hit) => hit.body)).toEqual(['kafka kafka kafka']);
    const second = await ok<{ items: { body: string }[]; nextCursor: string | null }>(
      await call(author, 'GET', `/search?q=kafka&limit=1&cursor=${first.nextCursor}`),
    );
    expect(second).toEqual({
      items: [expect.objectContaining({ body: 'kafka consumer groups replay', authorId: author })],
      nextCursor: null,
    });
    expect((await ok<{ items: unknown[] }>(await call(author, 'GET', '/search?q=%22groups%20replay%22%20-sqs'))).items).toHaveLength(1);

    const stats = await ok(await call(author, 'GET', `/users/${author}/stats?from=2026-01-10T09:00:00Z&to=2026-01-10T12:00:00Z`));
    expect(stats).toEqual({
      userId: author,
      from: '2026-01-10T09:00:00.000Z',
      to: '2026-01-10T12:00:00.000Z',
      posts: 3,
      hours: [
        { hour: '2026-01-10T09:00:00.000Z', posts: 2 },
        { hour: '2026-01-10T10:00:00.000Z', posts: 1 },
      ],
    });
  });
});
