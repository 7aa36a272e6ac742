import { randomUUID } from 'node:crypto';
import { PermanentError } from '@qls/messaging';
import { parse } from './notification.handler';

describe('parse (the worker reads NotificationRequested.v1)', () => {
  const valid = { schemaVersion: 1, notificationId: randomUUID(), userId: 'u1', channel: 'sms', template: 'otp', data: { code: '123456' } };

  it('accepts a v1 message and tolerates unknown fields', () => {
    expect(parse(JSON.stringify({ ...valid, addedLater: true }))).toMatchObject({ notificationId: valid.notificationId, channel: 'sms' });
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['an unknown schema version', JSON.stringify({ ...valid, schemaVersion: 2 }), /schemaVersion/],
    ['a missing field', JSON.stringify({ ...valid, userId: undefined }), /userId/],
    ['an unknown channel', JSON.stringify({ ...valid, channel: 'pigeon' }), /channel/],
  ])('rejects %s as poison, never retried', (_what, body, reason) => {
    let error: unknown;
    try {
      parse(body);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'NOTIFICATION.POISON', message: expect.stringMatching(reason) });
  });
});
