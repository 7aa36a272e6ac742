import { toHttpError } from '@qls/http-api';
import {
  IdempotencyConflictError,
  NotificationNotFoundError,
  NotificationRateLimitedError,
  NotificationUserMismatchError,
  NotificationValidationError,
} from '@qls/notification-intake';
import { operationOf } from './api.metrics';
import { statusByCode } from './http-errors';

describe('toHttpError (notification-api)', () => {
  it.each([
    [new NotificationValidationError([{ field: 'channel', message: 'channel: expected one of push, email, sms' }]), 400, 'channel'],
    [new NotificationUserMismatchError(), 403, 'userId'],
    [new NotificationNotFoundError('n-1'), 404, undefined],
    [new IdempotencyConflictError('Idempotency-Key', 'used', {}), 409, 'Idempotency-Key'],
    [new NotificationRateLimitedError(3), 429, undefined],
  ])('answers %p with %i and its code, message and field', (error, status, field) => {
    const mapped = toHttpError(error, statusByCode);
    expect(mapped?.status).toBe(status);
    expect(mapped?.body).toEqual({ error: { code: error.code, message: error.message, ...(field ? { field } : {}) } });
  });

  it('tells a rate-limited caller when to retry', () => {
    expect(toHttpError(new NotificationRateLimitedError(7), statusByCode)?.headers).toEqual({ 'Retry-After': '7' });
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
