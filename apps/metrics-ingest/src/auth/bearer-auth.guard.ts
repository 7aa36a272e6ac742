import { type CanActivate, type ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { AuthenticationError, type JwtVerifier, type ServiceCaller } from '@qls/metrics-ingest';
import { JWT_VERIFIER } from '../tokens';

/** A request that went through {@link BearerAuthGuard}. */
export interface AuthenticatedRequest extends IncomingMessage {
  caller?: ServiceCaller;
}

/** Requires `Authorization: Bearer <JWT>` (a service's token) and puts the verified caller on the request. */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(@Inject(JWT_VERIFIER) private readonly verify: JwtVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (header === undefined || header === '') throw new AuthenticationError('missing bearer token', false);
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
    if (!match?.[1]) throw new AuthenticationError('expected "Authorization: Bearer <token>"', false);
    request.caller = await this.verify(match[1]);
    return true;
  }
}

/** The service that {@link BearerAuthGuard} verified. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): ServiceCaller => {
  const caller = context.switchToHttp().getRequest<AuthenticatedRequest>().caller;
  if (caller === undefined) throw new Error('CurrentCaller used on a route without BearerAuthGuard');
  return caller;
});
