import { Controller, UseGuards, applyDecorators } from '@nestjs/common';
import { BearerAuthGuard } from './auth/bearer-auth.guard';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';

/**
 * A controller of an API's own callers (users, services): `@Controller(path)`
 * whose every route first authenticates the bearer token
 * ({@link BearerAuthGuard}), then spends the caller's request budget
 * ({@link RateLimitGuard}) — in that order, so a request without a valid
 * token costs no one's budget. Operator endpoints use `operatorAuth` instead.
 */
export function ApiController(path?: string): ClassDecorator {
  return applyDecorators(path === undefined ? Controller() : Controller(path), UseGuards(BearerAuthGuard, RateLimitGuard));
}
