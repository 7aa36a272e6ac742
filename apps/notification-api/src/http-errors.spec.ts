import { BadRequestException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { PermanentError, RetriableError } from '@qls/messaging';
import {
  IdempotencyConflictError,
  NotificationNotFoundError,
  NotificationRateLimitedError,
  NotificationUserMismatchError,
  NotificationValidationError,
} from '@qls/notification-intake';
import { operationOf } from './api.metrics';
import { AuthenticationError } from './auth/jwt.verifier';
import { toHttpError } from './http-errors';

describe('toHttpError', () => {
  it.each([
    [new NotificationValidationError([{ field: 'channel', message: 'channel: expected one of push, email, sms' }]), 400, 'channel'],
    [new NotificationUserMismatchError(), 403, 'userId'],
    [new NotificationNotFoundError('n-1'), 404, undefined],
    [new IdempotencyConflictError('Idempotency-Key', 'used', {}), 409, 'Idempotency-Key'],
    [new NotificationRateLimitedError(3), 429, undefined],
    [new AuthenticationError('token expired'), 401, undefined],
  ])('answers %p with %i and its code, message and field', (error, status, field) => {
    const mapped = toHttpError(error);
    expect(mapped?.status).toBe(status);
    expect(mapped?.body).toEqual({ error: { code: error.code, message: error.message, ...(field ? { field } : {}) } });
  });

  it('tells a rate-limited caller when to retry, and an unauthenticated one why (RFC 6750)', () => {
    expect(toHttpError(new NotificationRateLimitedError(7))?.headers).toEqual({ 'Retry-After': '7' });
    expect(toHttpError(new AuthenticationError('invalid token: unexpected "aud" claim value'))?.headers).toEqual({
      'WWW-Authenticate': `Bearer error="invalid_token", error_description="invalid token: unexpected 'aud' claim value"`,
    });
    expect(toHttpError(new AuthenticationError('missing bearer token', false))?.headers).toEqual({ 'WWW-Authenticate': 'Bearer' });
  });

  it("answers body-parser's size and syntax errors as 413 and 400", () => {
    const tooLarge = Object.assign(new Error('request entity too large'), {
      type: 'entity.too.large',
      status: 413,
      expose: true,
      limit: 2048,
    });
    expect(toHttpError(tooLarge)).toMatchObject({
      status: 413,
      body: { error: { code: 'REQUEST.TOO_LARGE', message: expect.stringContaining('2048') } },
    });
    expect(toHttpError(new BadRequestException('Unexpected token'))).toMatchObject({
      status: 400,
      body: { error: { code: 'REQUEST.MALFORMED_JSON' } },
    });
  });

  it('hides the cause of unknown and server-side errors', () => {
    expect(toHttpError(new Error('connection to 10.0.0.5 refused'))).toEqual({
      status: 500,
      headers: {},
      body: { error: { code: 'INTERNAL', message: 'internal error' } },
    });
    expect(toHttpError(new RetriableError('DB.UNAVAILABLE', 'pool exhausted'))).toMatchObject({
      status: 503,
      headers: { 'Retry-After': '1' },
    });
    expect(toHttpError(new PermanentError('SOMETHING.ELSE', 'secret detail'))?.body.error.message).toBe('internal error');
  });

  it("leaves Nest's own HTTP exceptions (unknown route, readiness) to Nest", () => {
    expect(toHttpError(new NotFoundException())).toBeUndefined();
    expect(toHttpError(new ServiceUnavailableException({ status: 'unavailable' }))).toBeUndefined();
  });
});

describe('operationOf', () => {
  it('names the two operations and nothing else', () => {
    expect(operationOf('POST', '/notifications')).toBe('create');
    expect(operationOf('POST', '/notifications/?x=1')).toBe('create');
    expect(operationOf('GET', '/notifications/0b9a3c52')).toBe('get');
    expect(operationOf('GET', '/notifications')).toBeUndefined();
    expect(operationOf('GET', '/metrics')).toBeUndefined();
  });
});
