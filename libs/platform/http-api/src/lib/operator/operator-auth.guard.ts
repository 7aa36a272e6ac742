import { type CanActivate, type ExecutionContext, HttpException, Inject, Injectable, type Provider, type Type } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@qls/observability';
import { type AuthenticatedRequest, bearerTokenOf } from '../auth/bearer-auth.guard';
import type { JwtVerifier } from '../auth/jwt.verifier';
import { withVerificationCache } from '../auth/verification-cache';
import { toHttpError } from '../http-errors';
import type { RateLimiter } from '../rate-limit/rate-limit.guard';
import { LocalTokenBucket } from './local-token-bucket';
import { type Operator, type OperatorScope, createOperatorVerifier } from './operator';
import { OperatorAuditLog } from './operator-audit';

/** Token of the app's {@link OperatorAuthSettings}, provided by {@link operatorProviders}. */
export const OPERATOR_AUTH = Symbol('OPERATOR_AUTH');

export interface OperatorAuthSettings {
  readonly verify: JwtVerifier<Operator>;
  /** A budget per operator (`operatorId`). */
  readonly limiter: RateLimiter;
}

/** The settings {@link operatorProviders} reads (a config loaded with `operatorAuthEnv`). */
export type OperatorAuthConfig = Parameters<typeof createOperatorVerifier>[0] & {
  readonly OPS_RATE_LIMIT_PER_SECOND: number;
  readonly OPS_RATE_LIMIT_BURST: number;
};

/**
 * What an app with operator endpoints registers: operator tokens verified
 * (and cached until they expire), a request budget per operator in the
 * process (operator apps run one replica; the budget protects Kafka and SQS
 * from a script, not from a fleet), and the {@link OperatorAuditLog}.
 */
export function operatorProviders(config: OperatorAuthConfig, logger: Pick<Logger, 'info' | 'warn'>): Provider[] {
  const settings: OperatorAuthSettings = {
    verify: withVerificationCache(createOperatorVerifier(config)),
    limiter: new LocalTokenBucket({ ratePerSecond: config.OPS_RATE_LIMIT_PER_SECOND, burst: config.OPS_RATE_LIMIT_BURST }),
  };
  return [
    { provide: OPERATOR_AUTH, useValue: settings },
    { provide: OperatorAuditLog, useValue: new OperatorAuditLog(logger) },
  ];
}

const guards = new Map<OperatorScope, Type<CanActivate>>();

/**
 * The guard of an operator endpoint: `@UseGuards(operatorAuth('ops:read'))`
 * on reads, `operatorAuth('ops:write')` on actions. In order: a valid
 * operator token (`Authorization: Bearer`, else 401), the route's scope in
 * its `scope` claim (else 403 `AUTH.FORBIDDEN`), the operator's budget (else
 * 429 `RATE_LIMITED` with `Retry-After`), and for `ops:write` a JSON body
 * (`Content-Type: application/json`, else 415: a body in any other type is
 * never parsed, and an action must not run on what it did not read). The
 * operator is then the request's caller (`@CurrentCaller()`). Refusals answer
 * `{ error: { code, message } }` whichever filter the app has.
 */
export function operatorAuth(scope: OperatorScope): Type<CanActivate> {
  let guard = guards.get(scope);
  if (guard === undefined) {
    guard = guardFor(scope);
    guards.set(scope, guard);
  }
  return guard;
}

function guardFor(scope: OperatorScope): Type<CanActivate> {
  @Injectable()
  class OperatorAuthGuard implements CanActivate {
    constructor(@Inject(OPERATOR_AUTH) private readonly settings: OperatorAuthSettings) {}

    async canActivate(context: ExecutionContext): Promise<boolean> {
      const request = context.switchToHttp().getRequest<AuthenticatedRequest<Operator>>();
      const response = context.switchToHttp().getResponse<ServerResponse>();
      let operator: Operator;
      try {
        operator = await this.settings.verify(bearerTokenOf(request));
      } catch (error) {
        const refusal = toHttpError(error, {});
        if (refusal === undefined || refusal.status >= 500) throw error;
        for (const [name, value] of Object.entries(refusal.headers)) response.setHeader(name, value);
        throw new HttpException(refusal.body, refusal.status);
      }
      if (!operator.scopes.has(scope)) {
        response.setHeader('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
        throw refused(403, 'AUTH.FORBIDDEN', `this operation needs a token with scope ${scope}`);
      }
      const decision = await this.settings.limiter.take(operator.operatorId);
      if (!decision.allowed) {
        response.setHeader('Retry-After', String(decision.retryAfterSeconds));
        throw refused(429, 'RATE_LIMITED', `too many operator requests; retry after ${decision.retryAfterSeconds} s`);
      }
      if (scope === 'ops:write' && !isJson(request)) {
        throw refused(415, 'REQUEST.UNSUPPORTED_MEDIA_TYPE', 'an operator action takes a JSON body (Content-Type: application/json)');
      }
      request.caller = operator;
      return true;
    }
  }
  return OperatorAuthGuard;
}

function isJson(request: IncomingMessage): boolean {
  const type = request.headers['content-type'];
  return typeof type === 'string' && type.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

function refused(status: number, code: string, message: string): HttpException {
  return new HttpException({ error: { code, message } }, status);
}
