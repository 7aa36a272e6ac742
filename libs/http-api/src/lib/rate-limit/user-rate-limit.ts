import type { Redis } from 'ioredis';
import type { Logger } from '@qls/observability';
import { RedisTokenBucket } from '@qls/redis';
import type { RateLimitPolicy } from './rate-limit.guard';

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
