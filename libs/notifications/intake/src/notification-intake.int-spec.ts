import { join } from 'node:path';
import type { Pool } from 'pg';
import { notificationRequestedV1 } from '@qls/notification-delivery';
import { migrate, readMigrations } from '@qls/provisioning';
import { trace } from '@opentelemetry/api';
import { startTestTelemetry } from '@qls/observability/testing';
import { TestResources, uniqueName, waitFor } from '@qls/testing';
import {
  type Caller,
  type CreateNotificationInput,
  type CreateNotificationResult,
  IdempotencyConflictError,
  NotificationNotFoundError,
  NotificationIntake,
  NotificationUserMismatchError,
  NotificationValidationError,
  getNotification,
  notificationsWithoutOutboxEvent,
} from './index';

const migrations = join(__dirname, '../../../../infra/migrations');

/** `depth` nested objects `{"a":{"a":…}}`, built without recursion. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('notification intake (real Postgres)', () => {
  let resources: TestResources;
  let pool: Pool;
  let caller: Caller;
  let intake: NotificationIntake;
  /** The size of every batch the intake committed. */
  let batches: number[];

  beforeEach(async () => {
    resources = new TestResources();
    ({ pool } = await resources.postgres());
    await migrate(pool, readMigrations(migrations));
    caller = { userId: uniqueName('user') };
    batches = [];
    intake = new NotificationIntake(pool, { queue: 'notifications-test', onBatch: (size) => batches.push(size) });
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
    const { notification, created } = await intake.create(caller, request({}, 'welcome-1'));

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

    const { notification } = await intake.create(caller, request({ notificationId }));

    expect(notification.id).toBe(notificationId);
    const { rows } = await pool.query('SELECT idempotency_key FROM notifications WHERE id = $1', [notificationId]);
    expect(rows).toEqual([{ idempotency_key: notificationId }]);
  });

  it('returns the first notification for a repeat with the same key and writes nothing', async () => {
    const first = await intake.create(caller, request({}, 'key-1'));
    await pool.query("UPDATE notifications SET status = 'sent', attempts = 1, sent_at = now() WHERE id = $1", [first.notification.id]);

    // Same request, data keys in another order: still the same request.
    const repeat = await intake.create(caller, request({ data: { n: 1, name: 'Ada' } }, 'key-1'));

    expect(repeat.created).toBe(false);
    expect(repeat.notification).toMatchObject({ id: first.notification.id, status: 'sent', attempts: 1 });
    expect(await counts()).toEqual({ notifications: 1, outbox: 1 });
  });

  it('treats a repeated notificationId under another key as a repeat of the same request', async () => {
    const notificationId = crypto.randomUUID();
    await intake.create(caller, request({ notificationId }, 'key-a'));

    const repeat = await intake.create(caller, request({ notificationId }, 'key-b'));

    expect(repeat).toMatchObject({ created: false, notification: { id: notificationId } });
    expect(await counts()).toEqual({ notifications: 1, outbox: 1 });
  });

  it('creates one notification when the same request races itself', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => intake.create(caller, request({}, 'raced'))));

    expect(new Set(results.map((result) => result.notification.id)).size).toBe(1);
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(await counts()).toEqual({ notifications: 1, outbox: 1 });
  });

  it('refuses the same key with a different body (409), naming the key and the first notification', async () => {
    const first = await intake.create(caller, request({}, 'key-1'));

    const conflict = intake.create(caller, request({ template: 'goodbye' }, 'key-1'));

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
    await intake.create(caller, request({ notificationId }));
    const other: Caller = { userId: uniqueName('other') };

    const taken = intake.create(other, { body: { ...(request({ notificationId }).body as object), userId: other.userId } });

    await expect(taken).rejects.toMatchObject({ code: 'NOTIFICATION.IDEMPOTENCY_CONFLICT', field: 'notificationId' });
    expect(await counts()).toEqual({ notifications: 1, outbox: 1 });
  });

  it('lets two users use the same Idempotency-Key independently', async () => {
    const other: Caller = { userId: uniqueName('other') };

    const mine = await intake.create(caller, request({}, 'shared-key'));
    const theirs = await intake.create(other, {
      body: { ...(request().body as object), userId: other.userId },
      idempotencyKey: 'shared-key',
    });

    expect(theirs.created).toBe(true);
    expect(theirs.notification.id).not.toBe(mine.notification.id);
  });

  it('leaves no notification row behind when the outbox write fails and the transaction rolls back', async () => {
    // An empty queue name breaks the outbox destination CHECK, after the notification row was inserted.
    const failing = new NotificationIntake(pool, { queue: '' }).create(caller, request());

    await expect(failing).rejects.toThrow(/outbox_destination_check|violates check constraint/);
    expect(await counts()).toEqual({ notifications: 0, outbox: 0 });
  });

  it('refuses to create a notification for another user', async () => {
    await expect(intake.create(caller, request({ userId: uniqueName('victim') }))).rejects.toBeInstanceOf(NotificationUserMismatchError);
    expect(await counts()).toEqual({ notifications: 0, outbox: 0 });
  });

  it("reads the caller's notification and reports another user's, a missing and a malformed id as not found", async () => {
    const { notification } = await intake.create(caller, request());

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
    const { notification } = await intake.create(caller, request());
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

  describe('group commit: concurrent creates share one transaction', () => {
    type Outcome = { created: boolean; id: string } | { conflict: string };

    /** What a create answered, in a form to compare: created or replayed with the id, or the conflicting field. */
    async function outcome(promise: Promise<CreateNotificationResult>): Promise<Outcome> {
      try {
        const { created, notification } = await promise;
        return { created, id: notification.id };
      } catch (error) {
        if (error instanceof IdempotencyConflictError) return { conflict: error.field };
        throw error;
      }
    }

    it('answers ~200 concurrent creates — new, repeated, conflicting — as one transaction per request would, in fewer transactions', async () => {
      const users = Array.from({ length: 4 }, () => ({ userId: uniqueName('user') }));
      const body = (who: Caller, overrides: Record<string, unknown> = {}) => ({
        userId: who.userId,
        channel: 'email',
        template: 'welcome',
        data: { name: 'Ada', n: 1 },
        ...overrides,
      });
      // Written before the burst: repeats of these replay them, other bodies under their keys conflict.
      const earlier = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          intake.create(users[0] as Caller, { body: body(users[0] as Caller), idempotencyKey: `earlier-${i}` }),
        ),
      );
      batches = [];

      /** A burst, submitted in one turn; requests of one group are adjacent, so most groups share a batch. */
      const groups: { name: string; requests: { who: Caller; input: CreateNotificationInput }[] }[] = [];
      const group = (name: string, ...requests: { who: Caller; input: CreateNotificationInput }[]) => groups.push({ name, requests });
      for (let i = 0; i < 80; i++) {
        const who = users[i % users.length] as Caller;
        group(`new-${i}`, { who, input: { body: body(who, { data: { i } }), idempotencyKey: `new-${i}` } });
      }
      for (let i = 0; i < 20; i++) {
        const who = users[i % users.length] as Caller;
        // Exact repeats of each other (the last one with its data keys in another order).
        group(
          `repeated-${i}`,
          { who, input: { body: body(who, { data: { i, name: 'Ada' } }), idempotencyKey: `repeated-${i}` } },
          { who, input: { body: body(who, { data: { i, name: 'Ada' } }), idempotencyKey: `repeated-${i}` } },
          { who, input: { body: body(who, { data: { name: 'Ada', i } }), idempotencyKey: `repeated-${i}` } },
        );
      }
      for (let i = 0; i < 20; i++) {
        const who = users[i % users.length] as Caller;
        group(
          `same-key-other-body-${i}`,
          { who, input: { body: body(who, { template: 'welcome' }), idempotencyKey: `clash-${i}` } },
          { who, input: { body: body(who, { template: 'goodbye' }), idempotencyKey: `clash-${i}` } },
        );
      }
      for (let i = 0; i < 10; i++) {
        const owner = users[0] as Caller;
        const thief = users[1] as Caller;
        const notificationId = crypto.randomUUID();
        // No header: the id is the key, so the two users' keys differ and only the id clashes.
        group(
          `id-clash-${i}`,
          { who: owner, input: { body: body(owner, { notificationId }) } },
          { who: thief, input: { body: body(thief, { notificationId }) } },
        );
      }
      for (let i = 0; i < 10; i++) {
        const who = users[2] as Caller;
        const notificationId = crypto.randomUUID();
        // The same request with its client-chosen id, under two keys: a repeat.
        group(
          `id-repeat-${i}`,
          { who, input: { body: body(who, { notificationId }), idempotencyKey: `id-repeat-a-${i}` } },
          { who, input: { body: body(who, { notificationId }), idempotencyKey: `id-repeat-b-${i}` } },
        );
      }
      for (let i = 0; i < 10; i++) {
        const who = users[0] as Caller;
        group(
          `earlier-${i}`,
          { who, input: { body: body(who), idempotencyKey: `earlier-${i}` } },
          { who, input: { body: body(who, { channel: 'sms' }), idempotencyKey: `earlier-${i}` } },
        );
      }
      const requests = groups.flatMap((g) => g.requests);
      expect(requests.length).toBeGreaterThanOrEqual(200);

      const answers = await Promise.all(requests.map(({ who, input }) => outcome(intake.create(who, input))));

      let next = 0;
      const byGroup = new Map(groups.map((g) => [g.name, g.requests.map(() => answers[next++] as Outcome)]));
      const of = (name: string) => byGroup.get(name) ?? [];
      const createdIds: string[] = [];
      for (let i = 0; i < 80; i++) {
        expect(of(`new-${i}`)).toEqual([{ created: true, id: expect.any(String) }]);
        createdIds.push((of(`new-${i}`)[0] as { id: string }).id);
      }
      for (let i = 0; i < 20; i++) {
        // One of them wrote it (not necessarily the first submitted), the others replay it.
        const answered = of(`repeated-${i}`) as { created: boolean; id: string }[];
        expect(answered.map((a) => a.created).sort()).toEqual([false, false, true]);
        expect(new Set(answered.map((a) => a.id)).size).toBe(1);
        createdIds.push((answered[0] as { id: string }).id);
      }
      for (let i = 0; i < 20; i++) {
        const answered = of(`same-key-other-body-${i}`);
        const winner = answered.findIndex((a) => 'created' in a);
        expect(answered[winner]).toEqual({ created: true, id: expect.any(String) });
        expect(answered[1 - winner]).toEqual({ conflict: 'Idempotency-Key' });
        const id = (answered[winner] as { id: string }).id;
        createdIds.push(id);
        const stored = await pool.query('SELECT template FROM notifications WHERE id = $1', [id]);
        expect(stored.rows).toEqual([{ template: winner === 0 ? 'welcome' : 'goodbye' }]);
      }
      for (let i = 0; i < 10; i++) {
        const answered = of(`id-clash-${i}`);
        const winner = answered.findIndex((a) => 'created' in a);
        expect(answered[winner]).toEqual({ created: true, id: expect.any(String) });
        expect(answered[1 - winner]).toEqual({ conflict: 'notificationId' });
        createdIds.push((answered[winner] as { id: string }).id);
      }
      for (let i = 0; i < 10; i++) {
        const answered = of(`id-repeat-${i}`) as { created: boolean; id: string }[];
        expect(answered.map((a) => a.created).sort()).toEqual([false, true]);
        expect(answered[0]?.id).toBe(answered[1]?.id);
        createdIds.push((answered[0] as { id: string }).id);
      }
      for (let i = 0; i < 10; i++) {
        expect(of(`earlier-${i}`)).toEqual([{ created: false, id: earlier[i]?.notification.id }, { conflict: 'Idempotency-Key' }]);
      }

      // One row and one outbox row per created notification, nothing for the rest.
      expect(new Set(createdIds).size).toBe(140);
      const outbox = await pool.query<{ aggregate_id: string }>('SELECT aggregate_id FROM outbox WHERE aggregate_id <> ALL($1::text[])', [
        earlier.map((e) => e.notification.id),
      ]);
      expect(outbox.rows.map((r) => r.aggregate_id).sort()).toEqual([...createdIds].sort());
      expect(await counts()).toEqual({ notifications: 150, outbox: 150 });
      // Every request went through a batch, and the batches were far fewer than the requests.
      expect(batches.reduce((sum, size) => sum + size, 0)).toBe(requests.length);
      expect(batches.length).toBeLessThan(requests.length / 10);
    });

    it("stamps each request's outbox row with that request's trace, though they share a transaction", async () => {
      const telemetry = startTestTelemetry();
      try {
        const traced = (name: string, key: string) =>
          trace.getTracer('test').startActiveSpan(name, async (span) => {
            try {
              const { notification } = await intake.create(caller, request({}, key));
              return { id: notification.id, traceId: span.spanContext().traceId };
            } finally {
              span.end();
            }
          });

        const [a, b] = await Promise.all([traced('POST /notifications a', 'trace-a'), traced('POST /notifications b', 'trace-b')]);

        expect(batches).toEqual([2]);
        expect(a.traceId).not.toBe(b.traceId);
        const { rows } = await pool.query<{ aggregate_id: string; traceparent: string }>(
          "SELECT aggregate_id, headers->>'traceparent' AS traceparent FROM outbox",
        );
        const traceparentOf = new Map(rows.map((row) => [row.aggregate_id, row.traceparent]));
        expect(traceparentOf.get(a.id)).toMatch(new RegExp(`^00-${a.traceId}-[0-9a-f]{16}-0[01]$`));
        expect(traceparentOf.get(b.id)).toMatch(new RegExp(`^00-${b.traceId}-[0-9a-f]{16}-0[01]$`));
      } finally {
        await telemetry.shutdown();
      }
    });

    it('fails only the invalid request of a batch, before it joins', async () => {
      const answers = await Promise.allSettled([
        intake.create(caller, request({}, 'valid-1')),
        intake.create(caller, request({ channel: 'pigeon' }, 'invalid')),
        intake.create(caller, request({ userId: uniqueName('victim') }, 'not-yours')),
        intake.create(caller, request({}, 'valid-2')),
      ]);

      expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect(answers[1]).toMatchObject({ reason: expect.any(NotificationValidationError) });
      expect(answers[2]).toMatchObject({ reason: expect.any(NotificationUserMismatchError) });
      expect(batches).toEqual([2]);
      expect(await counts()).toEqual({ notifications: 2, outbox: 2 });
    });

    it('runs a batch again when Postgres fails it to break a deadlock over a clashing notificationId', async () => {
      // Sorted by user, the batch inserts `first`'s row, then `second`'s — whose id another writer holds.
      const first: Caller = { userId: `a-${uniqueName('user')}` };
      const second: Caller = { userId: `b-${uniqueName('user')}` };
      const notificationId = crypto.randomUUID();
      const other = await resources.client(pool);
      const otherPid = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const insert = `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data) VALUES ($1, $2, $3, 'sms', 'otp', '{}')`;
      await other.query('BEGIN');
      await other.query(insert, [notificationId, 'someone', 'held']);

      const creates = Promise.all([
        intake.create(first, { body: { ...(request().body as object), userId: first.userId }, idempotencyKey: 'k1' }),
        intake.create(second, { body: { ...(request().body as object), userId: second.userId, notificationId } }),
      ]);
      await waitFor(
        async () =>
          (await pool.query('SELECT 1 FROM pg_locks WHERE NOT granted AND $1 = ANY(pg_blocking_pids(pid))', [otherPid])).rowCount === 1,
        { description: 'the batch waiting for the held id' },
      );
      // Now the other writer wants the row the batch holds: a deadlock. The batch has waited longer, so its
      // check (after deadlock_timeout) finds the cycle first and Postgres fails the batch's transaction.
      const otherInsert = other.query(insert, [crypto.randomUUID(), first.userId, 'k1']).then(
        () => 'inserted',
        (error: { code?: string }) => error.code,
      );
      expect(await otherInsert).toBe('inserted');
      await other.query('ROLLBACK');

      const [a, b] = await creates;
      expect([a.created, b.created, b.notification.id]).toEqual([true, true, notificationId]);
      expect(batches).toEqual([2]);
      expect(await counts()).toEqual({ notifications: 2, outbox: 2 });
    });

    it('fails every request of a batch whose transaction fails, and writes nothing', async () => {
      const failing = new NotificationIntake(pool, { queue: '' });

      const answers = await Promise.allSettled([failing.create(caller, request({}, 'a')), failing.create(caller, request({}, 'b'))]);

      expect(answers).toEqual([
        { status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/outbox_destination_check/) }) },
        { status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/outbox_destination_check/) }) },
      ]);
      expect(await counts()).toEqual({ notifications: 0, outbox: 0 });
    });

    it('fails a request Postgres refuses alone: 100 valid creates from 100 users and 3 poison ones sharing their batches', async () => {
      // A rule only Postgres knows (as it alone knew that jsonb refuses "\ud800" before the edge checked it).
      await pool.query("ALTER TABLE notifications ADD CONSTRAINT poison_template CHECK (template <> 'poison')");
      const users: Caller[] = Array.from({ length: 100 }, () => ({ userId: uniqueName('user') }));
      const create = (who: Caller, template: string) =>
        intake.create(who, { body: { userId: who.userId, channel: 'push', template, data: { n: 1 } } });
      // Submitted in one turn, the poison ones among the valid ones: they land in the same batches.
      const submitted = users.flatMap((who, i) => [
        { poison: false, answer: create(who, 'welcome') },
        ...(i % 40 === 7 ? [{ poison: true, answer: create(who, 'poison') }] : []),
      ]);

      const answers = await Promise.allSettled(submitted.map((s) => s.answer));

      const valid = answers.filter((_, i) => !submitted[i]?.poison);
      const poison = answers.filter((_, i) => submitted[i]?.poison);
      expect(valid.filter((a) => a.status === 'fulfilled' && a.value.created)).toHaveLength(100);
      expect(poison).toEqual(
        Array(3).fill({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/poison_template/) }) }),
      );
      expect(await counts()).toEqual({ notifications: 100, outbox: 100 });
      expect(await notificationsWithoutOutboxEvent(pool)).toEqual([]);
      // Still group commit: the valid creates committed in few transactions, not one each.
      expect(batches.reduce((sum, size) => sum + size, 0)).toBe(100);
      expect(batches.length).toBeLessThan(30);
    });

    it('writes a row and its outbox event together or not at all, whatever the caller id holds', async () => {
      const hostile = ['a\ud800', 'b\udfff', 'c\u0000', '', 'x'.repeat(10_000)];

      const answers = await Promise.allSettled(
        hostile.map((userId) => intake.create({ userId }, { body: { userId, channel: 'push', template: 'welcome', data: {} } })),
      );

      expect(answers).toEqual(
        hostile.map(() => ({
          status: 'rejected',
          reason: expect.objectContaining({ code: 'NOTIFICATION.VALIDATION_FAILED', field: 'userId' }),
        })),
      );
      expect(await counts()).toEqual({ notifications: 0, outbox: 0 });
      expect(await notificationsWithoutOutboxEvent(pool)).toEqual([]);
    });

    it('rolls back a row stored other than it was sent instead of committing it without its outbox event', async () => {
      // What the driver did to a lone surrogate in a user id (stored as U+FFFD), done here by a trigger for one template.
      await pool.query(`CREATE FUNCTION alias_user() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.template = 'aliased' THEN NEW.user_id := NEW.user_id || '\uFFFD'; END IF; RETURN NEW; END $$`);
      await pool.query('CREATE TRIGGER alias_user BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION alias_user()');

      const answers = await Promise.allSettled([
        intake.create(caller, request({}, 'before')),
        intake.create(caller, request({ template: 'aliased' }, 'aliased')),
        intake.create(caller, request({}, 'after')),
      ]);

      expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(answers[1]).toMatchObject({ reason: { message: expect.stringMatching(/no create claims/) } });
      expect(await counts()).toEqual({ notifications: 2, outbox: 2 });
      expect(await notificationsWithoutOutboxEvent(pool)).toEqual([]);
    });

    it.each([
      ['a lone surrogate in data', { data: { k: '\ud800' } }, 'data.k'],
      ['NUL in a data key', { data: { ['k\u0000']: 1 } }, 'data'],
      ['data nested 10,000 levels deep', { data: nested(10_000) }, 'data'],
      ['a lone surrogate in the template', { template: 'w\udc00' }, 'template'],
    ])('refuses %s before it joins a batch, naming the field', async (_what, overrides, field) => {
      const answers = await Promise.allSettled([intake.create(caller, request(overrides)), intake.create(caller, request({}, 'valid'))]);

      expect(answers[0]).toMatchObject({ status: 'rejected', reason: { code: 'NOTIFICATION.VALIDATION_FAILED', field } });
      expect(answers[1]).toMatchObject({ status: 'fulfilled', value: { created: true } });
      expect(await counts()).toEqual({ notifications: 1, outbox: 1 });
    });

    it('recognises its own row when the client sent its notificationId in upper case', async () => {
      const notificationId = crypto.randomUUID();

      const first = await intake.create(caller, request({ notificationId: notificationId.toUpperCase() }));

      expect(first).toMatchObject({ created: true, notification: { id: notificationId } });
      expect(await counts()).toEqual({ notifications: 1, outbox: 1 });
    });
  });
});
