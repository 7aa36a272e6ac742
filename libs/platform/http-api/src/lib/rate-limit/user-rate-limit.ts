import type { Redis } from 'ioredis';
import { positiveInt, z } from '@qls/config';
import { type FromInjected, type Logger, type Token, fromInjected } from '@qls/observability';
import { RedisTokenBucket } from '@qls/redis';
import { authEnv } from '../auth/auth.env';
import { bodyLimitEnv } from '../json-http-app';
import type { RateLimitPolicy } from './rate-limit.guard';

/**
 * The settings of an API whose callers are users, with the app's defaults:
 * their bearer tokens ({@link authEnv}), the largest JSON body
 * (`HTTP_BODY_LIMIT_BYTES`, larger ones are answered 413) and each user's
 * budget for {@link userRateLimit} — `RATE_LIMIT_PER_SECOND` sustained (may be
 * fractional; 10 unless told) and `RATE_LIMIT_BURST` requests at once after a
 * quiet period.
 */
export function userApiEnv(defaults: { readonly bodyLimitBytes: number; readonly burst: number }) {
  return {
    ...authEnv,
    ...bodyLimitEnv(defaults.bodyLimitBytes),
    RATE_LIMIT_PER_SECOND: z.coerce.number({ error: 'expected a number' }).positive().default(10),
    RATE_LIMIT_BURST: positiveInt.default(defaults.burst),
  };
}

/** Options of {@link userRateLimit}. */
export interface UserRateLimitOptions {
  /**
   * Where the budgets live. Give it a short `commandTimeout` (the APIs use
   * 250 ms): that is how long a request waits before the guard fails open.
   */
  readonly redis: Redis;
  /** Each user's budget: `ratePerSecond` sustained (may be fractional), `burst` at once after a quiet period. */
  readonly settings: { readonly ratePerSecond: number; readonly burst: number };
  /** The API whose budgets these are: keys are `<service>:ratelimit:{<userId>}`, so APIs sharing a Redis do not share budgets. */
  readonly service: string;
  /** The app's error for a refused request (its code mapped to 429; `retryAfterSeconds` becomes `Retry-After`). */
  readonly refused: (retryAfterSeconds: number) => Error;
  /** Counts the requests let through unlimited because Redis did not answer, e.g. `metrics.rateLimiterErrors`. */
  readonly errors: { inc(): void };
  readonly logger: Pick<Logger, 'warn'>;
}

/**
 * The rate limit of an API whose callers are users: a token bucket per user
 * (`caller.userId`) in Redis ({@link RedisTokenBucket}: one Lua script on
 * Redis's clock, shared by every replica), refusing with the app's error, and
 * failing open — when Redis does not answer, the request goes through, counted
 * in `errors` and logged as a warning. Pass it as `apiProviders({ rateLimit })`:
 *
 * ```ts
 * rateLimit: userRateLimit({
 *   redis, service, logger, errors: metrics.rateLimiterErrors,
 *   settings: { ratePerSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST },
 *   refused: (retryAfterSeconds) => new MyRateLimitedError(retryAfterSeconds),
 * }),
 * ```
 *
 * @throws RangeError when `ratePerSecond` is not positive or `burst` is below 1
 */
export function userRateLimit(options: UserRateLimitOptions): RateLimitPolicy<{ readonly userId: string }> {
  const { redis, settings, service, refused, errors, logger } = options;
  return {
    limiter: new RedisTokenBucket(redis, {
      ratePerSecond: settings.ratePerSecond,
      burst: settings.burst,
      keyPrefix: `${service}:ratelimit`,
    }),
    subjectOf: (caller) => caller.userId,
    refused,
    unavailable: (error) => {
      errors.inc();
      logger.warn({ err: error }, 'rate limiter unavailable, request let through');
    },
  };
}

/** Options of {@link userRateLimitOn}: those of {@link userRateLimit}, the budget read from the app's config. */
export interface UserRateLimitOnOptions extends Omit<UserRateLimitOptions, 'redis' | 'settings'> {
  /** `RATE_LIMIT_PER_SECOND`, `RATE_LIMIT_BURST` ({@link userApiLimitsEnv}). */
  readonly config: { readonly RATE_LIMIT_PER_SECOND: number; readonly RATE_LIMIT_BURST: number };
}

/**
 * {@link userRateLimit} on the app's Redis client (`RedisModule`: `Redis`, or
 * `redisToken(name)` for a named one), with the budget of the app's config.
 * Pass it as `apiProviders({ rateLimit: userRateLimitOn(Redis, { config, service, … }) })`.
 */
export function userRateLimitOn(
  redis: Token<Redis>,
  { config, ...options }: UserRateLimitOnOptions,
): FromInjected<RateLimitPolicy<{ readonly userId: string }>> {
  const settings = { ratePerSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST };
  return fromInjected([redis], (client) => userRateLimit({ ...options, redis: client, settings }));
}
