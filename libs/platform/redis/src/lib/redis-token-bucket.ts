import type { Redis } from 'ioredis';
import { RedisScript } from './redis-script';

/** Options of {@link RedisTokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens added per second: the sustained request rate. May be fractional. */
  readonly ratePerSecond: number;
  /** Bucket size: requests allowed at once after a quiet period. */
  readonly burst: number;
  /** Prefix of the Redis keys (one hash per subject). @defaultValue `'ratelimit'` */
  readonly keyPrefix?: string;
}

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** When refused: seconds until the request would be allowed (at least 1, for a `Retry-After` header); 0 when allowed. */
  readonly retryAfterSeconds: number;
}

// Refill by the time elapsed (Redis's clock, in µs), then take `cost` if there is enough.
const TOKEN_BUCKET = new RedisScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000000)
local allowed = 0
local wait_us = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait_us = math.ceil((cost - tokens) * 1000000 / rate)
end
-- string.format: tostring keeps only 14 digits, too few for a timestamp in µs.
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return {allowed, math.floor(tokens), wait_us}
`);

/**
 * A token bucket per subject, refilled continuously at `rate` tokens/s up to
 * `burst`. The read-refill-take happens in one Lua script, so concurrent
 * requests from any number of API replicas never overspend, and the clock is
 * Redis's (`TIME`), so replicas with skewed clocks agree. The key expires
 * once the bucket would be full again, so idle users cost no memory. Used by
 * every API's rate limit (libs/platform/http-api `RateLimitGuard`).
 */
export class RedisTokenBucket {
  private readonly keyPrefix: string;

  constructor(
    private readonly redis: Redis,
    private readonly options: TokenBucketOptions,
  ) {
    if (!(options.ratePerSecond > 0)) throw new RangeError(`ratePerSecond (${options.ratePerSecond}) must be greater than 0`);
    if (!(options.burst >= 1)) throw new RangeError(`burst (${options.burst}) must be at least 1`);
    this.keyPrefix = options.keyPrefix ?? 'ratelimit';
  }

  /**
   * Takes one token from `subject`'s bucket (e.g. a user id).
   * @throws whatever the Redis client throws (connection lost, timeout): the caller chooses to fail open or closed
   */
  async take(subject: string): Promise<RateLimitDecision> {
    const reply = await TOKEN_BUCKET.run(
      this.redis,
      [`${this.keyPrefix}:{${subject}}`],
      [this.options.ratePerSecond, this.options.burst, 1],
    );
    const [allowed, remaining, waitMicros] = reply as [number, number, number];
    return {
      allowed: allowed === 1,
      remaining,
      retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(waitMicros / 1_000_000)),
    };
  }
}
