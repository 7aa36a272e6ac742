import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** When refused: whole seconds until a request would be allowed (≥ 1, for `Retry-After`); 0 when allowed. */
  readonly retryAfterSeconds: number;
}

export interface FeedRateLimiterOptions {
  /** Sustained requests per second per user (may be fractional). */
  readonly ratePerSecond: number;
  /** Requests at once after a quiet period. */
  readonly burst: number;
  /** Prefix of the keys (a hash per user: `<prefix>:{<user>}`). */
  readonly keyPrefix: string;
}

// Refill by the time elapsed on Redis's clock (µs), then take one token if there is one.
// The key expires once the bucket would be full again: idle users cost nothing.
const LUA = `
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(state[1]) or burst, tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000000)
local allowed, wait = 0, 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 else wait = math.ceil((1 - tokens) * 1000000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return {allowed, wait}
`;
const SHA = createHash('sha1').update(LUA).digest('hex');

/**
 * A token bucket per user in Redis: one script call refills and takes, so any
 * number of API replicas share one budget exactly and never overspend.
 * (@qls/notification-intake has the same algorithm; module boundaries keep
 * the feed scope from using it.)
 */
export class FeedRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly options: FeedRateLimiterOptions,
  ) {
    if (!(options.ratePerSecond > 0)) throw new RangeError(`ratePerSecond (${options.ratePerSecond}) must be greater than 0`);
    if (!(options.burst >= 1)) throw new RangeError(`burst (${options.burst}) must be at least 1`);
  }

  /** @throws whatever the Redis client throws: the caller decides to fail open */
  async take(userId: string): Promise<RateLimitDecision> {
    const args = [1, `${this.options.keyPrefix}:{${userId}}`, this.options.ratePerSecond, this.options.burst] as const;
    let reply: unknown;
    try {
      reply = await this.redis.evalsha(SHA, ...args);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      reply = await this.redis.eval(LUA, ...args);
    }
    const [allowed, waitMicros] = reply as [number, number];
    return { allowed: allowed === 1, retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(waitMicros / 1_000_000)) };
  }
}
