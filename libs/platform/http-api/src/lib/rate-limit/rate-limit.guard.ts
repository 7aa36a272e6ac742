import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { AuthenticatedRequest } from '../auth/bearer-auth.guard';

/** Token of the app's {@link RateLimitPolicy}. */
export const RATE_LIMIT = Symbol('RATE_LIMIT');

/** A budget per subject, e.g. `RedisTokenBucket` from @qls/redis. */
export interface RateLimiter {
  /** @throws when the budget cannot be read (Redis away): the guard fails open */
  take(subject: string): Promise<{ readonly allowed: boolean; readonly retryAfterSeconds: number }>;
}

/** What an API limits and how it answers; provided under {@link RATE_LIMIT}. */
export interface RateLimitPolicy<C> {
  readonly limiter: RateLimiter;
  /** Whose budget a request spends, e.g. the user's. */
  subjectOf(caller: C): string;
  /** The error a refused request fails with: the app maps its code to 429 with `Retry-After`. */
  refused(retryAfterSeconds: number): Error;
  /** The limiter did not answer and the request goes through: count and log it here. */
  unavailable(error: unknown): void;
}

/**
 * One unit of the caller's budget per request; runs after
 * {@link BearerAuthGuard}. Fails open: when the limiter does not answer, the
 * request goes through (the policy counts it) — a limiter outage must not
 * become an outage of the API.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(@Inject(RATE_LIMIT) private readonly policy: RateLimitPolicy<unknown>) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { caller } = context.switchToHttp().getRequest<AuthenticatedRequest<unknown>>();
    if (caller === undefined) throw new Error('RateLimitGuard must run after BearerAuthGuard');
    let decision;
    try {
      decision = await this.policy.limiter.take(this.policy.subjectOf(caller));
    } catch (error) {
      this.policy.unavailable(error);
      return true;
    }
    if (!decision.allowed) throw this.policy.refused(decision.retryAfterSeconds);
    return true;
  }
}
