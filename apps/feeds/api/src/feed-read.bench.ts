import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { defineBenchmark, percentile } from '@qls/bench';
import { FeedCache, type FeedEntry } from '@qls/feed-timeline';
import { RedisKeys } from '@qls/feed-contracts';
import { migrate, readMigrations } from '@qls/provisioning';
import {
  type MigratedSchema,
  type ReadyApp,
  TestResources,
  migratedSchema,
  startReadyApp,
  stopApps,
  uniqueName,
  userTokens,
} from '@qls/testing';

const CELEBRITIES = 10;
const REGULARS = 500;
const CELEBRITY_FOLLOWERS = 100_000; // the default FEED_CELEBRITY_THRESHOLD
const RECENT_PER_CELEBRITY = 200; // FeedCache's default recentLength
const POSTS_PER_REGULAR = 20;
const FEED_LENGTH = 800; // FeedCache's default feedLength
const PAGE = 20;
const WARMUP = 100;
const REQUESTS = 1_500;
const CONCURRENT_CLIENTS = 16;

interface Ctx extends MigratedSchema {
  readonly redis: Redis;
  readonly url: string;
  readonly token: string;
  readonly reader: string;
  readonly keys: string[];
  readonly app: ReadyApp;
}

const now = () => performance.now();

/** Runs `request` `count` times from `clients` concurrent loops; latencies in ms. */
async function measure(count: number, clients: number, request: () => Promise<void>): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next++ < count) {
        const at = now();
        await request();
        latencies.push(now() - at);
      }
    }),
  );
  return { latencies, seconds: (now() - started) / 1000 };
}

function summary(result: { latencies: number[]; seconds: number }): Record<string, number> {
  return {
    'p50 ms': percentile(result.latencies, 50),
    'p99 ms': percentile(result.latencies, 99),
    'reads/s': result.latencies.length / result.seconds,
  };
}

/** The app's own feed_read_duration_seconds (sum, count): the read without HTTP, JWT and the rate limiter. */
async function appReadTime(ctx: Ctx): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${ctx.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');
  return { sum: value('feed_read_duration_seconds_sum'), count: value('feed_read_duration_seconds_count') };
}

/** Measures through HTTP, adding the app-side mean of the same reads. */
async function measureApp(ctx: Ctx, count: number, clients: number): Promise<Record<string, number>> {
  await measure(WARMUP, clients, () => readFeed(ctx));
  const before = await appReadTime(ctx);
  const result = summary(await measure(count, clients, () => readFeed(ctx)));
  const after = await appReadTime(ctx);
  return { ...result, 'in-app mean ms': ((after.sum - before.sum) / (after.count - before.count)) * 1000 };
}

async function readFeed(ctx: Ctx): Promise<void> {
  const response = await fetch(`${ctx.url}/feed?limit=${PAGE}`, { headers: { authorization: `Bearer ${ctx.token}` } });
  if (response.status !== 200) throw new Error(`GET /feed answered ${response.status}: ${await response.text()}`);
  const page = (await response.json()) as { items: unknown[] };
  if (page.items.length !== PAGE) throw new Error(`GET /feed answered ${page.items.length} items, expected ${PAGE}`);
}

/**
 * The naive read (fan-out on read for everyone): who the reader follows from
 * Postgres, then one awaited ZREVRANGE per followee's recent posts, merged
 * and hydrated in Node. Runs in this process, without HTTP, auth or JSON —
 * which favours it.
 */
async function naiveRead(ctx: Ctx): Promise<void> {
  const { rows } = await ctx.pool.query<{ followee_id: string }>('SELECT followee_id FROM follows WHERE follower_id = $1', [ctx.reader]);
  const entries: FeedEntry[] = [];
  for (const { followee_id } of rows) {
    const reply = await ctx.redis.zrevrange(RedisKeys.recent(followee_id), 0, PAGE - 1, 'WITHSCORES');
    for (let i = 0; i + 1 < reply.length; i += 2) entries.push({ postId: reply[i] as string, score: Number(reply[i + 1]) });
  }
  const page = entries.sort((a, b) => b.score - a.score).slice(0, PAGE);
  const posts = await ctx.pool.query(
    'SELECT id, author_id, body, created_at FROM posts WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL',
    [page.map((e) => e.postId)],
  );
  if (posts.rows.length !== PAGE) throw new Error(`naive read hydrated ${posts.rows.length} posts, expected ${PAGE}`);
}

/**
 * GET /feed (limit 20) for a user following 10 celebrities (100,000 followers
 * each: merged on read from their recent posts) and 500 regular accounts
 * (pushed: an 800-entry feed), through the built feed-api as its own process
 * (JWT, rate limiter, activity touch, celebrities query, one pipelined Redis
 * merge of 11 sorted sets, hydration), next to the naive read. Postgres data
 * in a schema of its own, Redis keys unique to the run.
 */
export default defineBenchmark<Ctx>({
  name: 'feed-read',
  description: `GET /feed for a user following ${CELEBRITIES} celebrities and ${REGULARS} regular accounts (built feed-api process)`,
  rounds: 3,
  headline: { metric: 'p99 ms', higherIsBetter: false },
  async setup() {
    const db = await migratedSchema(new TestResources(), { migrate, readMigrations });
    const { resources, pool } = db;
    const redis = new Redis(resources.env.REDIS_URL);
    const cache = new FeedCache(redis);
    const run = uniqueName('bench');
    const reader = `${run}-reader`;
    const celebrities = Array.from({ length: CELEBRITIES }, (_, i) => `${run}-celebrity-${i}`);
    const regulars = Array.from({ length: REGULARS }, (_, i) => `${run}-regular-${i}`);
    const users = [reader, ...celebrities, ...regulars];
    await pool.query(
      `INSERT INTO feed_users (id, handle, follower_count) SELECT id, 'h' || ord, CASE WHEN id = ANY($2) THEN $3 ELSE 1 END
         FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord)`,
      [users, celebrities, CELEBRITY_FOLLOWERS],
    );
    await pool.query('INSERT INTO follows (followee_id, follower_id) SELECT id, $2 FROM unnest($1::text[]) AS f(id)', [
      [...celebrities, ...regulars],
      reader,
    ]);

    // Posts over the last 10 days: celebrities' and regulars' interleaved, so the merge decides the page.
    const start = Date.now() - 10 * 86_400_000;
    const posts: { id: string; author: string; at: number }[] = [];
    for (const author of celebrities) {
      for (let i = 0; i < RECENT_PER_CELEBRITY; i++)
        posts.push({ id: randomUUID(), author, at: start + Math.floor(Math.random() * 10 * 86_400_000) });
    }
    for (const author of regulars) {
      for (let i = 0; i < POSTS_PER_REGULAR; i++)
        posts.push({ id: randomUUID(), author, at: start + Math.floor(Math.random() * 10 * 86_400_000) });
    }
    await pool.query(
      `INSERT INTO posts (id, author_id, body, created_at)
       SELECT id, author, 'post ' || id || ' — some text of a typical length for a feed item, about queues, logs and streams', 'epoch'::timestamptz + at * interval '1 millisecond'
         FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS p(id, author, at)`,
      [posts.map((p) => p.id), posts.map((p) => p.author), posts.map((p) => p.at)],
    );
    await pool.query('ANALYZE');

    // What the fan-out would have written: every author's recent posts; the reader's pushed feed (regulars only).
    const recent = new Map<string, FeedEntry[]>();
    for (const p of posts) recent.set(p.author, [...(recent.get(p.author) ?? []), { postId: p.id, score: p.at }]);
    await Promise.all([...recent].map(([author, entries]) => cache.replaceRecent(author, entries)));
    const pushed = posts.filter((p) => !celebrities.includes(p.author)).map((p) => ({ postId: p.id, score: p.at }));
    await cache.replaceFeed(reader, pushed.sort((a, b) => b.score - a.score).slice(0, FEED_LENGTH));
    const keys = [RedisKeys.feed(reader), ...users.map(RedisKeys.recent)];

    const readers = await userTokens('feed', 'bench');
    const app = await startReadyApp('feed-api', {
      DATABASE_URL: db.databaseUrl,
      DATABASE_POOL_SIZE: '20',
      ...readers.env,
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
    });
    const token = await readers.token(reader, { expiresAt: '2h' });
    const ctx: Ctx = { ...db, redis, url: app.url, token, reader, keys, app };
    console.log(`seeded ${posts.length} posts, ${users.length} users; reader follows ${CELEBRITIES} celebrities and ${REGULARS} regulars`);
    return ctx;
  },
  async teardown(ctx) {
    await stopApps([ctx.app.process]);
    for (let i = 0; i < ctx.keys.length; i += 500) await ctx.redis.del(...ctx.keys.slice(i, i + 500));
    await ctx.redis.quit();
    await ctx.resources.cleanup();
  },
  baseline: {
    name: 'naive: one awaited ZREVRANGE per followee, merged in Node (in process)',
    async run(ctx) {
      await measure(10, 1, () => naiveRead(ctx));
      return summary(await measure(200, 1, () => naiveRead(ctx)));
    },
  },
  candidates: [
    {
      name: 'feed-api GET /feed, 1 client',
      run: (ctx) => measureApp(ctx, REQUESTS, 1),
    },
    {
      name: `feed-api GET /feed, ${CONCURRENT_CLIENTS} clients`,
      run: (ctx) => measureApp(ctx, REQUESTS * 2, CONCURRENT_CLIENTS),
    },
  ],
});
