import type { Redis } from 'ioredis';
import { userRateLimit } from './user-rate-limit';

class Refused extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`retry after ${retryAfterSeconds} s`);
  }
}

/** A Redis that answers the token bucket's script with `reply`, recording each call (no server). */
function scriptedRedis(reply: () => Promise<unknown>) {
  const calls: unknown[][] = [];
  const redis = {
    evalsha: (...args: unknown[]) => {
      calls.push(args);
      return reply();
    },
  } as unknown as Redis;
  return { redis, calls };
}

function policyOn(redis: Redis) {
  const errors = { count: 0, inc: () => void errors.count++ };
  const warnings: unknown[][] = [];
  const policy = userRateLimit({
    redis,
    settings: { ratePerSecond: 0.5, burst: 3 },
    service: 'feed-api',
    refused: (retryAfterSeconds) => new Refused(retryAfterSeconds),
    errors,
    logger: { warn: (...args: unknown[]) => void warnings.push(args) },
  });
  return { policy, errors, warnings };
}

describe('userRateLimit', () => {
  it("spends the user's budget in a bucket keyed by the service and the userId, at the given rate and burst", async () => {
    const { redis, calls } = scriptedRedis(async () => [1, 2, 0]);
    const { policy } = policyOn(redis);

    const subject = policy.subjectOf({ userId: 'ada' });
    const decision = await policy.limiter.take(subject);

    expect(subject).toBe('ada');
    expect(decision).toEqual({ allowed: true, remaining: 2, retryAfterSeconds: 0 });
    expect(calls).toEqual([[expect.any(String), 1, 'feed-api:ratelimit:{ada}', 0.5, 3, 1]]);
  });

  it("refuses with the app's error, carrying the whole seconds until a token is back", async () => {
    const { redis } = scriptedRedis(async () => [0, 0, 1_500_000]);
    const { policy } = policyOn(redis);

    const { allowed, retryAfterSeconds } = await policy.limiter.take('ada');

    expect([allowed, retryAfterSeconds]).toEqual([false, 2]);
    expect(policy.refused(retryAfterSeconds)).toEqual(new Refused(2));
  });

  it('counts and logs a limiter outage, once per request let through', async () => {
    const outage = new Error('Command timed out');
    const { redis } = scriptedRedis(async () => {
      throw outage;
    });
    const { policy, errors, warnings } = policyOn(redis);

    await expect(policy.limiter.take('ada')).rejects.toBe(outage);
    policy.unavailable(outage);

    expect(errors.count).toBe(1);
    expect(warnings).toEqual([[{ err: outage }, 'rate limiter unavailable, request let through']]);
  });

  it('refuses settings the token bucket cannot honour', () => {
    const { redis } = scriptedRedis(async () => [1, 0, 0]);
    const settings = (ratePerSecond: number, burst: number) => () =>
      userRateLimit({
        redis,
        settings: { ratePerSecond, burst },
        service: 'api',
        refused: (s) => new Refused(s),
        errors: { inc: () => undefined },
        logger: { warn: () => undefined },
      });

    expect(settings(0, 10)).toThrow(RangeError);
    expect(settings(1, 0)).toThrow(RangeError);
  });
});
