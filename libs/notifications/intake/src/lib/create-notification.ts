import { randomUUID } from 'node:crypto';
import { type Context, context } from '@opentelemetry/api';
import type { Pool } from 'pg';
import { excerpt } from '@qls/config';
import { Coalescer } from '@qls/batching';
import { NOTIFICATION_REQUESTED, type NotificationRequested, notificationRequestedV1 } from '@qls/notification-delivery';
import { type OutboxEvent, enqueue, inTransaction } from '@qls/outbox';
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

export interface NotificationIntakeOptions {
  /** SQS queue (name) the outbox relay publishes `NotificationRequested.v1` to. */
  readonly queue: string;
  /** @defaultValue {@link intakeDefaults} */
  readonly limits?: IntakeLimits;
  /** Most creates committed in one transaction. @defaultValue 100 */
  readonly maxBatch?: number;
  /**
   * Transactions (pooled connections) writing batches at once; while all are
   * busy, new creates gather into the next batch. @defaultValue 2
   */
  readonly maxInFlight?: number;
  /** Called after each batch committed, with the number of creates in it (a metric, tests). */
  readonly onBatch?: (size: number) => void;
}

export interface CreateNotificationResult {
  readonly notification: NotificationView;
  /** false when the request repeated an earlier one: nothing was written, `notification` is the first one, as it is now. */
  readonly created: boolean;
}

/** A validated create, waiting for its batch. */
interface PendingCreate {
  readonly command: CreateNotificationCommand;
  readonly id: string;
  readonly idempotencyKey: string;
  readonly message: NotificationRequested;
  /** The request's trace, for its outbox row: the batch runs in the context of whichever request started it. */
  readonly context: Context;
}

type InsertedRow = NotificationRow & { readonly user_id: string; readonly idempotency_key: string };

/** What a batch did for one create: its inserted row, undefined when it conflicted, or the error that failed it alone. */
type Written = { readonly row: InsertedRow | undefined } | { readonly error: unknown };

/** SQLSTATE deadlock_detected. */
const DEADLOCK_DETECTED = '40P01';
const MAX_DEADLOCK_ATTEMPTS = 3;

/**
 * Accepts notifications for sending: validates each request, then inserts the
 * `notifications` row (status `queued`) and the outbox row that the relay
 * publishes to SQS (`NotificationRequested.v1`, FIFO group = the user) in ONE
 * transaction. Either both commit or neither does.
 *
 * Group commit: the creates of concurrent requests share that transaction —
 * one multi-row INSERT, one outbox INSERT, one COMMIT for up to `maxBatch`
 * requests (see {@link Coalescer}) — which is what lets one API process take
 * thousands of requests per second. A request fails alone: validation
 * happens per request before it joins a batch (everything Postgres would
 * refuse: lone surrogates, NUL, depth, size), and a batch Postgres refuses
 * anyway for one member's data is split until that member fails by itself
 * (see insertBatch). Only a failure of the database itself (connection lost,
 * pool exhausted) fails every request of the batch.
 *
 * Idempotency: the key is the `Idempotency-Key` header, else the
 * notification id, unique per user. A repeat with the same key and the same
 * request (channel, template, data, and notificationId when given) returns
 * the first notification and writes nothing. The same key with a different
 * request is refused with {@link IdempotencyConflictError} (Stripe's rule), as
 * is a client-chosen `notificationId` that another request already uses.
 * Repeats within one batch are answered the same way as repeats across
 * batches. Keys do not expire (the unique index holds them as long as the
 * row lives).
 */
export class NotificationIntake {
  private readonly limits: IntakeLimits;
  private readonly batches: Coalescer<PendingCreate, Written>;

  constructor(
    private readonly pool: Pool,
    private readonly options: NotificationIntakeOptions,
  ) {
    this.limits = options.limits ?? intakeDefaults;
    this.batches = new Coalescer({
      run: (batch) => this.insertBatch(batch),
      maxBatch: options.maxBatch ?? 100,
      maxInFlight: options.maxInFlight ?? 2,
    });
  }

  /** @throws NotificationValidationError, NotificationUserMismatchError, IdempotencyConflictError */
  async create(caller: Caller, input: CreateNotificationInput): Promise<CreateNotificationResult> {
    const command = parseCreateNotification(input.body, this.limits);
    if (command.userId !== caller.userId) throw new NotificationUserMismatchError();
    const id = command.notificationId ?? randomUUID();
    const idempotencyKey = idempotencyKeyFor(input.idempotencyKey, id, this.limits);
    const message: NotificationRequested = notificationRequestedV1.parse({
      schemaVersion: 1,
      notificationId: id,
      userId: command.userId,
      channel: command.channel,
      template: command.template,
      data: command.data,
    });

    const written = await this.batches.submit({ command, id, idempotencyKey, message, context: context.active() });
    if ('error' in written) throw written.error;
    const { row } = written;
    if (row !== undefined) return { notification: toView(row), created: true };
    // The insert conflicted — rare, so answered outside the batch, after it committed.
    return { notification: await firstRequest(this.pool, command, id, idempotencyKey), created: false };
  }

  /**
   * Writes the batch; answers per create its inserted row, undefined when it
   * conflicted, or the error that failed it. A batch that Postgres refuses
   * for the data of some member (a constraint, a value it cannot store) is
   * split in halves and each half written on its own, down to the member at
   * fault: its error is its own, and the others commit — in about
   * 2·log2(batch) transactions for one bad member, none on the happy path. Any
   * other failure (connection lost, pool exhausted) fails the whole batch.
   */
  private async insertBatch(batch: readonly PendingCreate[]): Promise<Written[]> {
    try {
      const rows = await this.insertRetryingDeadlocks(batch);
      this.options.onBatch?.(batch.length);
      return rows.map((row) => ({ row }));
    } catch (error) {
      if (!isMemberError(error)) throw error;
      if (batch.length === 1) return [{ error }];
      // One half after the other: a repeat in the second half then finds the first half's row, as across batches.
      const middle = Math.ceil(batch.length / 2);
      const first = await this.insertBatch(batch.slice(0, middle));
      return [...first, ...(await this.insertBatch(batch.slice(middle)))];
    }
  }

  private async insertRetryingDeadlocks(batch: readonly PendingCreate[]): Promise<(InsertedRow | undefined)[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.insertOnce(batch);
      } catch (error) {
        // Postgres breaks a deadlock by failing one of the transactions; rolled back whole, the batch can run again.
        if (attempt === MAX_DEADLOCK_ATTEMPTS || (error as { code?: unknown }).code !== DEADLOCK_DETECTED) throw error;
      }
    }
  }

  private insertOnce(batch: readonly PendingCreate[]): Promise<(InsertedRow | undefined)[]> {
    // The same order in every transaction (stable: the first of equal keys stays first), so two batches
    // racing with the same keys wait for each other instead of deadlocking. Only clashing client-chosen
    // ids can still deadlock two batches (or a batch and another writer): see insertBatch.
    const ordered = [...batch].sort((a, b) => compare(a.command.userId, b.command.userId) || compare(a.idempotencyKey, b.idempotencyKey));
    return inTransaction(this.pool, async (tx) => {
      // DO NOTHING instead of failing on 23505: a unique violation would abort the whole batch, and
      // this way a conflicting row (a repeat, also one earlier in this batch) is skipped; a concurrent
      // one is waited for until it commits, so it is there for firstRequest to read afterwards.
      const { rows } = await tx.client.query<InsertedRow>(
        `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])
         ON CONFLICT DO NOTHING
         RETURNING ${VIEW_COLUMNS}, user_id, idempotency_key`,
        [
          ordered.map((p) => p.id),
          ordered.map((p) => p.command.userId),
          ordered.map((p) => p.idempotencyKey),
          ordered.map((p) => p.command.channel),
          ordered.map((p) => p.command.template),
          ordered.map((p) => JSON.stringify(p.command.data)),
        ],
      );
      const inserted = matchInserted(batch, rows);
      // A row no create claims would commit without its outbox event (a value stored other than it was sent):
      // roll back instead. Edge validation keeps such values out; this keeps the promise whatever slips through.
      const claimed = inserted.filter((row) => row !== undefined).length;
      if (claimed !== rows.length) throw new UnclaimedRowError(rows.length - claimed);
      await enqueue(
        tx,
        batch.flatMap((pending, index) => (inserted[index] === undefined ? [] : [this.outboxEvent(pending)])),
      );
      return inserted;
    });
  }

  private outboxEvent({ id, command, message, context }: PendingCreate): OutboxEvent {
    return {
      aggregateType: 'notification',
      aggregateId: id,
      eventType: NOTIFICATION_REQUESTED,
      payload: message,
      destination: { sqs: this.options.queue },
      // The FIFO variant of the queue orders per user (MessageGroupId).
      key: command.userId,
      context,
    };
  }
}

/**
 * The insert stored a row that no create of the batch recognises as its own,
 * so it would have no outbox event: the batch rolls back, and is split until
 * the member at fault fails alone.
 */
class UnclaimedRowError extends Error {
  readonly code = 'NOTIFICATION.UNCLAIMED_ROW';

  constructor(count: number) {
    super(`the batch inserted ${count} row(s) no create claims (stored values differ from those sent); rolled back`);
    this.name = 'UnclaimedRowError';
  }
}

/**
 * A failure caused by what one member holds rather than by the database:
 * SQLSTATE class 22 (data exception: bad JSON, bad encoding), 23 (integrity
 * constraint violation), 54 (program limit exceeded: a value too large to
 * index), or a row no member claims. Splitting the batch isolates it.
 */
function isMemberError(error: unknown): boolean {
  if (error instanceof UnclaimedRowError) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Which create each inserted row belongs to. RETURNING cannot name the input
 * row, but an inserted row's (id, user, key) is that of exactly the create
 * that wrote it — or of identical ones, of which the first is the writer and
 * the rest are its repeats.
 */
function matchInserted(batch: readonly PendingCreate[], rows: readonly InsertedRow[]): (InsertedRow | undefined)[] {
  const byIdentity = new Map(rows.map((row) => [`${row.id}\u0000${row.user_id}\u0000${row.idempotency_key}`, row]));
  return batch.map((pending) => {
    // Postgres answers a uuid in lower case; a client may have sent it in upper case.
    const identity = `${pending.id.toLowerCase()}\u0000${pending.command.userId}\u0000${pending.idempotencyKey}`;
    const row = byIdentity.get(identity);
    byIdentity.delete(identity);
    return row;
  });
}

/** The insert conflicted: find the request that got there first, and check this one repeats it. */
async function firstRequest(pool: Pool, command: CreateNotificationCommand, id: string, idempotencyKey: string): Promise<NotificationView> {
  // jsonb equality ignores key order and whitespace, as a repeat sent by another client library would differ in those.
  const sameRequest = `user_id = $1 AND channel = $2 AND template = $3 AND data = $4::jsonb AND ($5::uuid IS NULL OR id = $5::uuid)`;
  const request = [command.userId, command.channel, command.template, JSON.stringify(command.data), command.notificationId ?? null];

  const byKey = await pool.query<NotificationRow & { same_request: boolean }>(
    `SELECT ${VIEW_COLUMNS}, (${sameRequest}) AS same_request FROM notifications WHERE user_id = $1 AND idempotency_key = $6`,
    [...request, idempotencyKey],
  );
  const first = byKey.rows[0];
  if (first !== undefined) {
    if (first.same_request) return toView(first);
    throw new IdempotencyConflictError(
      'Idempotency-Key',
      `Idempotency-Key "${excerpt(idempotencyKey)}" was already used with a different request (notification ${first.id}); use a new key for a new request`,
      { idempotencyKey, notificationId: first.id },
    );
  }

  // Not the key: the client-chosen id is taken. The same request under another key is still a repeat, if it is the caller's.
  const byId = await pool.query<NotificationRow & { same_request: boolean }>(
    `SELECT ${VIEW_COLUMNS}, (${sameRequest}) AS same_request FROM notifications WHERE id = $6::uuid`,
    [...request, id],
  );
  const taken = byId.rows[0];
  if (taken?.same_request) return toView(taken);
  throw new IdempotencyConflictError('notificationId', `notificationId ${id} is already used by another request`, { notificationId: id });
}
