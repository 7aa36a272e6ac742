import type { Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { type FromInjected, isFromInjected } from '@qls/observability';
import { ApiExceptionFilter, type ApiExceptionFilterOptions } from './api-exception.filter';
import { BearerAuthGuard, JWT_VERIFIER } from './auth/bearer-auth.guard';
import type { JwtVerifier } from './auth/jwt.verifier';
import { withVerificationCache } from './auth/verification-cache';
import { RATE_LIMIT, RateLimitGuard, type RateLimitPolicy } from './rate-limit/rate-limit.guard';

export interface ApiProvidersOptions<C> {
  /** Turns a bearer token into the caller; its verdicts are cached per token until `exp`. */
  readonly verify: JwtVerifier<C>;
  /** How errors become responses (status by error code, logging, metrics). */
  readonly errors: ApiExceptionFilterOptions;
  /**
   * A budget per caller; without it no {@link RateLimitGuard} is registered.
   * Built from the app's providers when they hold its store:
   * `fromInjected([Redis], (redis) => userRateLimit({ redis, … }))`.
   */
  readonly rateLimit?: RateLimitPolicy<C> | FromInjected<RateLimitPolicy<C>>;
}

/**
 * {@link ApiExceptionFilter} for every route of the app: errors answer
 * `{ error: { code, message, field? } }`. {@link apiProviders} includes it;
 * an app without bearer auth registers this alone.
 */
export function apiErrorFilter(options: ApiExceptionFilterOptions): Provider {
  return { provide: APP_FILTER, useValue: new ApiExceptionFilter(options) };
}

/**
 * What every JSON API registers: bearer authentication with cached
 * verifications ({@link BearerAuthGuard}), the error filter, and the rate limit
 * when it has one. Controllers then say `@UseGuards(BearerAuthGuard, RateLimitGuard)`.
 */
export function apiProviders<C>(options: ApiProvidersOptions<C>): Provider[] {
  return [
    // Clients reuse a token for many requests: its signature is checked once, then remembered until it expires.
    { provide: JWT_VERIFIER, useValue: withVerificationCache(options.verify) },
    apiErrorFilter(options.errors),
    BearerAuthGuard,
    ...(options.rateLimit === undefined ? [] : [rateLimitProvider(options.rateLimit), RateLimitGuard]),
  ];
}

function rateLimitProvider<C>(rateLimit: RateLimitPolicy<C> | FromInjected<RateLimitPolicy<C>>): Provider {
  return isFromInjected(rateLimit)
    ? { provide: RATE_LIMIT, inject: [...rateLimit.inject], useFactory: rateLimit.useFactory }
    : { provide: RATE_LIMIT, useValue: rateLimit };
}
