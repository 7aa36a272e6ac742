import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { AuthenticatedRequest } from '@qls/http-api';
import { type Caller, NotificationRateLimitedError, type RedisTokenBucket } from '@qls/notification-intake';
import type { Logger } from '@qls/observability';
import type { ApiMetrics } from './api.metrics';
import { API_METRICS, LOGGER, RATE_LIMITER } from './tokens';

/**
 * One token per request from the caller's bucket (after {@link BearerAuthGuard}).
 * Fails open: when Redis does not answer, the request goes through, logged
 * and counted — a limiter outage must not become a notification outage.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    @Inject(RATE_LIMITER) private readonly limiter: RedisTokenBucket,
    @Inject(API_METRICS) private readonly metrics: ApiMetrics,
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
    if (!decision.allowed) throw new NotificationRateLimitedError(decision.retryAfterSeconds);
    return true;
  }
}
