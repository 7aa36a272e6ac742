import { idempotencyKeyFor, intakeDefaults, parseCreateNotification } from './create-notification.request';
import { NotificationValidationError } from './notification.errors';

const valid = { userId: 'user-1', channel: 'email', template: 'password-reset.v2', data: { name: 'Ada' } };

function rejectionOf(body: unknown, limits = intakeDefaults): NotificationValidationError {
  try {
    parseCreateNotification(body, limits);
  } catch (error) {
    if (error instanceof NotificationValidationError) return error;
    throw error;
  }
  throw new Error('expected a NotificationValidationError');
}

describe('parseCreateNotification', () => {
  it('accepts a valid request and leaves notificationId unset when absent', () => {
    expect(parseCreateNotification(valid)).toEqual({ ...valid, notificationId: undefined });
  });

  it('keeps a client-chosen notificationId', () => {
    const notificationId = '0b9a3c52-6d3e-4f4c-9a55-2d8f9f1f6f10';
    expect(parseCreateNotification({ ...valid, notificationId }).notificationId).toBe(notificationId);
  });

  it('defaults data to an empty object', () => {
    const { data: _omitted, ...body } = valid;
    expect(parseCreateNotification(body).data).toEqual({});
  });

  it('names a missing userId as required', () => {
    const { userId: _omitted, ...body } = valid;
    const error = rejectionOf(body);
    expect(error).toMatchObject({ code: 'NOTIFICATION.VALIDATION_FAILED', field: 'userId', retriable: false });
    expect(error.message).toBe('userId is required');
  });

  it('names a channel outside push, email, sms and lists the allowed ones', () => {
    const error = rejectionOf({ ...valid, channel: 'fax' });
    expect(error.field).toBe('channel');
    expect(error.message).toBe('channel: expected one of push, email, sms');
  });

  it('refuses an unknown field and names it', () => {
    const error = rejectionOf({ ...valid, priority: 'high' });
    expect(error.field).toBe('priority');
    expect(error.message).toBe('priority: unknown field');
  });

  it('refuses a notificationId that is not a UUID', () => {
    expect(rejectionOf({ ...valid, notificationId: 'n-1' }).field).toBe('notificationId');
  });

  it('refuses a template that is too long or not a template name', () => {
    expect(rejectionOf({ ...valid, template: 'x'.repeat(intakeDefaults.maxTemplateLength + 1) }).field).toBe('template');
    expect(rejectionOf({ ...valid, template: '<script>' }).field).toBe('template');
    expect(rejectionOf({ ...valid, template: '' }).field).toBe('template');
  });

  it('refuses data over the byte limit, saying the size', () => {
    const limits = { ...intakeDefaults, maxDataBytes: 100 };
    const error = rejectionOf({ ...valid, data: { text: 'é'.repeat(50) } }, limits);
    expect(error.field).toBe('data');
    expect(error.message).toMatch(/^data: must be at most 100 bytes of JSON, got 1\d\d$/);
  });

  it('refuses data that is not an object, and NUL characters Postgres would reject, naming where they are', () => {
    expect(rejectionOf({ ...valid, data: [1, 2] }).field).toBe('data');
    expect(rejectionOf({ ...valid, data: 'text' }).field).toBe('data');
    expect(rejectionOf({ ...valid, data: { a: 'x\u0000y' } }).field).toBe('data.a');
    expect(rejectionOf({ ...valid, userId: 'a\u0000' }).field).toBe('userId');
  });

  it('refuses a body that is not an object without naming a field', () => {
    for (const body of [undefined, null, 'text', [valid]]) {
      const error = rejectionOf(body);
      expect(error.field).toBeUndefined();
      expect(error.message).toBe('body: expected a JSON object');
    }
  });

  it('reports every problem in the message and names the first', () => {
    const error = rejectionOf({ channel: 'fax', template: 't', extra: 1 });
    expect(error.field).toBe('userId');
    expect(error.issues.map((issue) => issue.field)).toEqual(['userId', 'channel', 'extra']);
    expect(error.message).toBe('userId is required; channel: expected one of push, email, sms; extra: unknown field');
  });
});

describe('idempotencyKeyFor', () => {
  const id = '0b9a3c52-6d3e-4f4c-9a55-2d8f9f1f6f10';

  it('uses the Idempotency-Key header when there is one', () => {
    expect(idempotencyKeyFor('order-42-shipped', id)).toBe('order-42-shipped');
  });

  it('falls back to the notification id', () => {
    expect(idempotencyKeyFor(undefined, id)).toBe(id);
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['not printable ASCII', 'clé'],
  ])('refuses a key that is %s and names the header', (_what, key) => {
    expect(() => idempotencyKeyFor(key, id)).toThrow(
      expect.objectContaining({ code: 'NOTIFICATION.VALIDATION_FAILED', field: 'Idempotency-Key' }) as Error,
    );
  });
});
