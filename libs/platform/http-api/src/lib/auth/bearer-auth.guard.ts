import { type CanActivate, type ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { singleHeader } from '../headers';
import { AuthenticationError, type JwtVerifier } from './jwt.verifier';

/** The app provides its {@link JwtVerifier} under this token; {@link BearerAuthGuard} uses it. */
export const JWT_VERIFIER = Symbol('JWT_VERIFIER');

/** A request that went through {@link BearerAuthGuard}: `C` is the app's caller type (what its verifier answers). */
export interface AuthenticatedRequest<C> extends IncomingMessage {
  caller?: C;
}

/**
 * Requires `Authorization: Bearer <JWT>` — once: two headers are a 400
 * (Node would keep the first) — and puts the caller the verifier answers on
 * the request.
 */
@Injectable()
export class BearerAuthGuard<C = unknown> implements CanActivate {
  constructor(@Inject(JWT_VERIFIER) private readonly verify: JwtVerifier<C>) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest<C>>();
    request.caller = await this.verify(bearerTokenOf(request));
    return true;
  }
}

/**
 * The token of the request's one `Authorization: Bearer <token>` header.
 *
 * @throws AuthenticationError without one; DuplicateHeaderError for two
 */
export function bearerTokenOf(request: IncomingMessage): string {
  const header = singleHeader(request, 'Authorization');
  if (header === undefined || header === '') throw new AuthenticationError('missing bearer token', false);
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
  if (!match?.[1]) throw new AuthenticationError('expected "Authorization: Bearer <token>"', false);
  return match[1];
}

/** The caller that {@link BearerAuthGuard} verified; the parameter's type is the app's caller type. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): unknown => {
  const caller = context.switchToHttp().getRequest<AuthenticatedRequest<unknown>>().caller;
  if (caller === undefined) throw new Error('CurrentCaller used on a route without BearerAuthGuard');
  return caller;
});
