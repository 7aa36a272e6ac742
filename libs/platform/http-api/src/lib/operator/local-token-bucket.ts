import type { RateLimiter } from '../rate-limit/rate-limit.guard';

export interface LocalTokenBucketSettings {
  /** Tokens added per second (may be fractional). */
  readonly ratePerSecond: number;
  /** Largest number of tokens a subject holds. */
  readonly burst: number;
  /** Subjects remembered at most; the least recently seen is forgotten (it starts full again). @defaultValue 10_000 */
  readonly maxSubjects?: number;
}

/**
 * A token bucket per subject in this process's memory: the budget of callers
 * few enough to count in one replica (operators). Shared budgets across
 * replicas are `RedisTokenBucket`'s job.
 */
export class LocalTokenBucket implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly settings: LocalTokenBucketSettings,
    private readonly now: () => number = Date.now,
  ) {
    if (!(settings.ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be positive, got ${settings.ratePerSecond}`);
    if (!(settings.burst >= 1)) throw new RangeError(`burst must be at least 1, got ${settings.burst}`);
  }

  async take(subject: string): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
    const { ratePerSecond, burst } = this.settings;
    const now = this.now();
    const previous = this.buckets.get(subject);
    this.buckets.delete(subject); // re-inserted below: the Map stays in least-recently-seen order
    const tokens = previous === undefined ? burst : Math.min(burst, previous.tokens + ((now - previous.atMs) / 1000) * ratePerSecond);
    const allowed = tokens >= 1;
    this.buckets.set(subject, { tokens: allowed ? tokens - 1 : tokens, atMs: now });
    if (this.buckets.size > (this.settings.maxSubjects ?? 10_000)) this.buckets.delete(this.buckets.keys().next().value as string);
    return { allowed, retryAfterSeconds: allowed ? 0 : Math.ceil((1 - tokens) / ratePerSecond) };
  }
}
