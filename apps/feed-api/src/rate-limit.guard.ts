import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { type Caller, type FeedApiMetrics, FeedRateLimitedError, type FeedRateLimiter } from '@qls/feed-api';
import type { AuthenticatedRequest } from '@qls/http-api';
import type { Logger } from '@qls/observability';
import { API_METRICS, LOGGER, RATE_LIMITER } from './tokens';

/**
 * One token per request from the caller's bucket (after BearerAuthGuard).
 * Fails open: when Redis does not answer within its timeout, the request goes
 * through, logged and counted — a limiter outage must not take posting down.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    @Inject(RATE_LIMITER) private readonly limiter: FeedRateLimiter,
    @Inject(API_METRICS) private readonly metrics: FeedApiMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { caller } = context.switchToHttp().getRequest<AuthenticatedRequest<Caller>>();
    if (caller === undefined) throw new Error('RateLimitGuard must run after BearerAuthGuard');
    let decision;
    try {
      decision = await this.limiter.take(caller.userId);
    } catch (error) {
      this.metrics.rateLimiterErrors.inc();
      this.logger.warn({ err: error }, 'rate limiter unavailable, request let through');
      return true;
    }
    if (!decision.allowed) throw new FeedRateLimitedError(decision.retryAfterSeconds);
    return true;
  }
}
