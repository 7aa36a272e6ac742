import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { NOTIFICATION_REQUESTED, type NotificationRequested, notificationRequestedV1 } from '@qls/notification';
import { type Transaction, enqueue, inTransaction } from '@qls/outbox';
import {
  type CreateNotificationCommand,
  type IntakeLimits,
  idempotencyKeyFor,
  intakeDefaults,
  parseCreateNotification,
} from './create-notification.request';
import { IdempotencyConflictError, NotificationUserMismatchError } from './notification.errors';
import { type Caller, type NotificationRow, type NotificationView, VIEW_COLUMNS, toView } from './notification.view';

/** A create request as it arrives: the parsed JSON body, unvalidated, and the `Idempotency-Key` header. */
export interface CreateNotificationInput {
  readonly body: unknown;
  readonly idempotencyKey?: string | undefined;
}

export interface CreateNotificationOptions {
  /** SQS queue (name) the outbox relay publishes `NotificationRequested.v1` to. */
  readonly queue: string;
  /** @defaultValue {@link intakeDefaults} */
  readonly limits?: IntakeLimits;
}

export interface CreateNotificationResult {
  readonly notification: NotificationView;
  /** false when the request repeated an earlier one: nothing was written, `notification` is the first one, as it is now. */
  readonly created: boolean;
}

/**
 * Accepts a notification for sending: validates the request, then in ONE
 * transaction inserts the `notifications` row (status `queued`) and the
 * outbox row that the relay publishes to SQS (`NotificationRequested.v1`,
 * FIFO group = the user). Either both commit or neither does.
 *
 * Idempotency: the key is the `Idempotency-Key` header, else the
 * notification id, unique per user. A repeat with the same key and the same
 * request (channel, template, data, and notificationId when given) returns
 * the first notification and writes nothing. The same key with a different
 * request is refused with {@link IdempotencyConflictError} (Stripe's rule), as
 * is a client-chosen `notificationId` that another request already uses.
 * Keys do not expire (the unique index holds them as long as the row lives).
 *
 * @throws NotificationValidationError, NotificationUserMismatchError, IdempotencyConflictError
 */
export async function createNotification(
  pool: Pool,
  caller: Caller,
  input: CreateNotificationInput,
  options: CreateNotificationOptions,
): Promise<CreateNotificationResult> {
  const limits = options.limits ?? intakeDefaults;
  const command = parseCreateNotification(input.body, limits);
  if (command.userId !== caller.userId) throw new NotificationUserMismatchError();
  const id = command.notificationId ?? randomUUID();
  const idempotencyKey = idempotencyKeyFor(input.idempotencyKey, id, limits);
  const message: NotificationRequested = notificationRequestedV1.parse({
    schemaVersion: 1,
    notificationId: id,
    userId: command.userId,
    channel: command.channel,
    template: command.template,
    data: command.data,
  });

  return inTransaction(pool, async (tx) => {
    // DO NOTHING instead of catching 23505: a unique violation would abort the
    // transaction, and this way a concurrent duplicate waits for the first
    // insert to commit and then reads it below.
    const inserted = await tx.client.query<NotificationRow>(
      `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb)
       ON CONFLICT DO NOTHING
       RETURNING ${VIEW_COLUMNS}`,
      [id, command.userId, idempotencyKey, command.channel, command.template, JSON.stringify(command.data)],
    );
    const row = inserted.rows[0];
    if (row === undefined) return { notification: await firstRequest(tx, command, id, idempotencyKey), created: false };
    await enqueue(tx, [
      {
        aggregateType: 'notification',
        aggregateId: id,
        eventType: NOTIFICATION_REQUESTED,
        payload: message,
        destination: { sqs: options.queue },
        // The FIFO variant of the queue orders per user (MessageGroupId).
        key: command.userId,
      },
    ]);
    return { notification: toView(row), created: true };
  });
}

/** The insert conflicted: find the request that got there first, and check this one repeats it. */
async function firstRequest(
  tx: Transaction,
  command: CreateNotificationCommand,
  id: string,
  idempotencyKey: string,
): Promise<NotificationView> {
  // jsonb equality ignores key order and whitespace, as a repeat sent by another client library would differ in those.
  const sameRequest = `user_id = $1 AND channel = $2 AND template = $3 AND data = $4::jsonb AND ($5::uuid IS NULL OR id = $5::uuid)`;
  const request = [command.userId, command.channel, command.template, JSON.stringify(command.data), command.notificationId ?? null];

  const byKey = await tx.client.query<NotificationRow & { same_request: boolean }>(
    `SELECT ${VIEW_COLUMNS}, (${sameRequest}) AS same_request FROM notifications WHERE user_id = $1 AND idempotency_key = $6`,
    [...request, idempotencyKey],
  );
  const first = byKey.rows[0];
  if (first !== undefined) {
    if (first.same_request) return toView(first);
    throw new IdempotencyConflictError(
      'Idempotency-Key',
      `Idempotency-Key "${idempotencyKey}" was already used with a different request (notification ${first.id}); use a new key for a new request`,
      { idempotencyKey, notificationId: first.id },
    );
  }

  // Not the key: the client-chosen id is taken. The same request under another key is still a repeat, if it is the caller's.
  const byId = await tx.client.query<NotificationRow & { same_request: boolean }>(
    `SELECT ${VIEW_COLUMNS}, (${sameRequest}) AS same_request FROM notifications WHERE id = $6::uuid`,
    [...request, id],
  );
  const taken = byId.rows[0];
  if (taken?.same_request) return toView(taken);
  throw new IdempotencyConflictError('notificationId', `notificationId ${id} is already used by another request`, { notificationId: id });
}
