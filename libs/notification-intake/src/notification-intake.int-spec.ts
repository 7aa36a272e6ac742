import { join } from 'node:path';
import type { Pool } from 'pg';
import { notificationRequestedV1 } from '@qls/notification';
import { migrate, readMigrations } from '@qls/provisioning';
import { TestResources, uniqueName } from '@qls/testing';
import {
  type Caller,
  type CreateNotificationInput,
  IdempotencyConflictError,
  NotificationNotFoundError,
  NotificationUserMismatchError,
  createNotification,
  getNotification,
} from './index';

const migrations = join(__dirname, '../../../infra/migrations');

describe('notification intake (real Postgres)', () => {
  let resources: TestResources;
  let pool: Pool;
  let caller: Caller;
  const options = { queue: 'notifications-test' };

  beforeEach(async () => {
    resources = new TestResources();
    ({ pool } = await resources.postgres());
    await migrate(pool, readMigrations(migrations));
    caller = { userId: uniqueName('user') };
  });

  afterEach(() => resources.cleanup());

  const request = (overrides: Record<string, unknown> = {}, idempotencyKey?: string): CreateNotificationInput => ({
    body: { userId: caller.userId, channel: 'email', template: 'welcome', data: { name: 'Ada', n: 1 }, ...overrides },
    idempotencyKey,
  });

  async function counts(): Promise<{ notifications: number; outbox: number }> {
    const { rows } = await pool.query<{ notifications: number; outbox: number }>(
      'SELECT (SELECT count(*)::int FROM notifications) AS notifications, (SELECT count(*)::int FROM outbox) AS outbox',
    );
    return rows[0] ?? { notifications: -1, outbox: -1 };
  }

  it('writes the queued notification and its NotificationRequested.v1 outbox row together', async () => {
    const { notification, created } = await createNotification(pool, caller, request({}, 'welcome-1'), options);

    expect(created).toBe(true);
    expect(notification).toMatchObject({ status: 'queued', channel: 'email', attempts: 0, sentAt: null, lastError: null });
    const row = (await pool.query('SELECT user_id, idempotency_key, template, data FROM notifications WHERE id = $1', [notification.id]))
      .rows[0];
    expect(row).toEqual({ user_id: caller.userId, idempotency_key: 'welcome-1', template: 'welcome', data: { name: 'Ada', n: 1 } });
    const outbox = (await pool.query('SELECT aggregate_type, aggregate_id, event_type, destination, message_key, payload FROM outbox'))
      .rows;
    expect(outbox).toEqual([
      {
        aggregate_type: 'notification',
        aggregate_id: notification.id,
        event_type: 'NotificationRequested.v1',
        destination: 'sqs:notifications-test',
        message_key: caller.userId,
        payload: {
          schemaVersion: 1,
          notificationId: notification.id,
          userId: caller.userId,
          channel: 'email',
          template: 'welcome',
          data: { name: 'Ada', n: 1 },
        },
      },
    ]);
    // What the worker will parse at the other end.
    expect(notificationRequestedV1.safeParse(outbox[0].payload).success).toBe(true);
  });

  it('uses the client-chosen notificationId as the id and, without a header, as the idempotency key', async () => {
    const notificationId = crypto.randomUUID();

    const { notification } = await createNotification(pool, caller, request({ notificationId }), options);

    expect(notification.id).toBe(notificationId);
    const { rows } = await pool.query('SELECT idempotency_key FROM notifications WHERE id = $1', [notificationId]);
    expect(rows).toEqual([{ idempotency_key: notificationId }]);
  });

  it('returns the first notification for a repeat with the same key and writes nothing', async () => {
    const first = await createNotification(pool, caller, request({}, 'key-1'), options);
    await pool.query("UPDATE notifications SET status = 'sent', attempts = 1, sent_at = now() WHERE id = $1", [first.notification.id]);

    // Same request, data keys in another order: still the same request.
    const repeat = await createNotification(pool, caller, request({ data: { n: 1, name: 'Ada' } }, 'key-1'), options);

    expect(repeat.created).toBe(false);
    expect(repeat.notification).toMatchObject({ id: first.notification.id, status: 'sent', attempts: 1 });
    expect(await counts()).toEqual({ notifications: 1, outbox: 1 });
  });

  it('treats a repeated notificationId under another key as a repeat of the same request', async () => {
    const notificationId = crypto.randomUUID();
    await createNotification(pool, caller, request({ notificationId }, 'key-a'), options);

    const repeat = await createNotification(pool, caller, request({ notificationId }, 'key-b'), options);

    expect(repeat).toMatchObject({ created: false, notification: { id: notificationId } });
    expect(await counts()).toEqual({ notifications: 1, outbox: 1 });
  });

  it('creates one notification when the same request races itself', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => createNotification(pool, caller, request({}, 'raced'), options)));

    expect(new Set(results.map((result) => result.notification.id)).size).toBe(1);
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(await counts()).toEqual({ notifications: 1, outbox: 1 });
  });

  it('refuses the same key with a different body (409), naming the key and the first notification', async () => {
    const first = await createNotification(pool, caller, request({}, 'key-1'), options);

    const conflict = createNotification(pool, caller, request({ template: 'goodbye' }, 'key-1'), options);

    await expect(conflict).rejects.toBeInstanceOf(IdempotencyConflictError);
    await expect(conflict).rejects.toMatchObject({
      code: 'NOTIFICATION.IDEMPOTENCY_CONFLICT',
      field: 'Idempotency-Key',
      message: expect.stringContaining(first.notification.id),
    });
    expect(await counts()).toEqual({ notifications: 1, outbox: 1 });
  });

  it("refuses a notificationId already used by another user's request, without showing it", async () => {
    const notificationId = crypto.randomUUID();
    await createNotification(pool, caller, request({ notificationId }), options);
    const other: Caller = { userId: uniqueName('other') };

    const taken = createNotification(
      pool,
      other,
      { body: { ...(request({ notificationId }).body as object), userId: other.userId } },
      options,
    );

    await expect(taken).rejects.toMatchObject({ code: 'NOTIFICATION.IDEMPOTENCY_CONFLICT', field: 'notificationId' });
    expect(await counts()).toEqual({ notifications: 1, outbox: 1 });
  });

  it('lets two users use the same Idempotency-Key independently', async () => {
    const other: Caller = { userId: uniqueName('other') };

    const mine = await createNotification(pool, caller, request({}, 'shared-key'), options);
    const theirs = await createNotification(
      pool,
      other,
      { body: { ...(request().body as object), userId: other.userId }, idempotencyKey: 'shared-key' },
      options,
    );

    expect(theirs.created).toBe(true);
    expect(theirs.notification.id).not.toBe(mine.notification.id);
  });

  it('leaves no notification row behind when the outbox write fails and the transaction rolls back', async () => {
    // An empty queue name breaks the outbox destination CHECK, after the notification row was inserted.
    const failing = createNotification(pool, caller, request(), { queue: '' });

    await expect(failing).rejects.toThrow(/outbox_destination_check|violates check constraint/);
    expect(await counts()).toEqual({ notifications: 0, outbox: 0 });
  });

  it('refuses to create a notification for another user', async () => {
    await expect(createNotification(pool, caller, request({ userId: uniqueName('victim') }), options)).rejects.toBeInstanceOf(
      NotificationUserMismatchError,
    );
    expect(await counts()).toEqual({ notifications: 0, outbox: 0 });
  });

  it("reads the caller's notification and reports another user's, a missing and a malformed id as not found", async () => {
    const { notification } = await createNotification(pool, caller, request(), options);

    expect(await getNotification(pool, caller, notification.id)).toEqual(notification);
    for (const [who, id] of [
      [{ userId: uniqueName('other') }, notification.id],
      [caller, crypto.randomUUID()],
      [caller, 'not-a-uuid'],
    ] as const) {
      await expect(getNotification(pool, who, id)).rejects.toBeInstanceOf(NotificationNotFoundError);
    }
  });

  it('shows the worker-side progress: attempts, last error, sent time', async () => {
    const { notification } = await createNotification(pool, caller, request(), options);
    await pool.query(
      "UPDATE notifications SET status = 'failed', attempts = 3, last_error = 'provider said no', updated_at = now() WHERE id = $1",
      [notification.id],
    );

    expect(await getNotification(pool, caller, notification.id)).toMatchObject({
      status: 'failed',
      attempts: 3,
      lastError: 'provider said no',
      sentAt: null,
      createdAt: notification.createdAt,
    });
  });
});
