import type { Redis } from 'ioredis';
import { TestResources, uniqueName, waitFor } from '@qls/testing';
import { RedisTokenBucket } from './redis-token-bucket';

describe('RedisTokenBucket (real Redis)', () => {
  let resources: TestResources;
  let redis: Redis;
  let keyPrefix: string;

  beforeEach(() => {
    resources = new TestResources();
    redis = resources.redis();
    keyPrefix = uniqueName('ratelimit-test');
  });

  afterEach(() => resources.cleanup());

  it('allows the burst at once, then refuses with the wait until the next token', async () => {
    const bucket = new RedisTokenBucket(redis, { ratePerSecond: 0.25, burst: 3, keyPrefix });

    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await bucket.take('u1'));

    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
    // One token takes 4 s at 0.25/s; a few ms have passed since the bucket emptied.
    expect(decisions[3]?.retryAfterSeconds).toBe(4);
  });

  it('keeps one bucket per subject', async () => {
    const bucket = new RedisTokenBucket(redis, { ratePerSecond: 0.1, burst: 1, keyPrefix });

    expect((await bucket.take('u1')).allowed).toBe(true);
    expect((await bucket.take('u1')).allowed).toBe(false);
    expect((await bucket.take('u2')).allowed).toBe(true);
  });

  it('refills at the configured rate', async () => {
    const bucket = new RedisTokenBucket(redis, { ratePerSecond: 20, burst: 1, keyPrefix });
    expect((await bucket.take('u1')).allowed).toBe(true);

    // A token every 50 ms: some later take succeeds again, well within the timeout.
    await waitFor(async () => (await bucket.take('u1')).allowed, { timeoutMs: 2_000, intervalMs: 10, description: 'a refilled token' });
  });

  it('never overspends under concurrent takes', async () => {
    const bucket = new RedisTokenBucket(redis, { ratePerSecond: 0.01, burst: 10, keyPrefix });

    const decisions = await Promise.all(Array.from({ length: 30 }, () => bucket.take('u1')));

    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
  });

  it('loads its script again after the server forgot it', async () => {
    const bucket = new RedisTokenBucket(redis, { ratePerSecond: 1, burst: 5, keyPrefix });
    await bucket.take('u1');

    await redis.script('FLUSH');

    expect(await bucket.take('u1')).toMatchObject({ allowed: true, remaining: 3 });
  });

  it('lets its key expire once the bucket would be full again', async () => {
    const bucket = new RedisTokenBucket(redis, { ratePerSecond: 2, burst: 4, keyPrefix });
    await bucket.take('u1');

    const ttl = await redis.pttl(`${keyPrefix}:{u1}`);
    // 1 missing token at 2/s = 500 ms, plus 1 s of slack.
    expect(ttl).toBeGreaterThan(1_000);
    expect(ttl).toBeLessThanOrEqual(1_500);
  });

  it('refuses settings that cannot work, naming them', () => {
    expect(() => new RedisTokenBucket(redis, { ratePerSecond: 0, burst: 1 })).toThrow('ratePerSecond (0) must be greater than 0');
    expect(() => new RedisTokenBucket(redis, { ratePerSecond: 1, burst: 0 })).toThrow('burst (0) must be at least 1');
  });
});
