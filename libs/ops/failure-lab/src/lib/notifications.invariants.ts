// drop-system: notifications
import type { Pool } from 'pg';
import { InvariantCheck, type InvariantReport } from '@qls/testing';

/**
 * The notification system's promise (docs/contracts.md, ADR 0005): every
 * accepted notification is sent exactly once effectively — the provider
 * accepted it once — or dead-lettered with its reason after N failed provider
 * attempts (at once for a permanent failure or a poison message), and its
 * status settles to that truth within a bound. A crash, a lease wait or a
 * shutdown never counts as a failure.
 */
export const NOTIFICATION_INVARIANTS = [
  'lost',
  'duplicated',
  'wrongly dead-lettered',
  'dead-lettered without a reason',
  'dead-lettered without a dead letter',
  'status not the truth',
  'not settled',
] as const;

/** What the workload was told: notification-api answered 202 with this id. */
export interface AcknowledgedNotification {
  readonly id: string;
}

/** A `notifications` row, as far as the contract goes. */
export interface NotificationRow {
  readonly id: string;
  readonly status: string;
  readonly providerFailures: number;
  readonly lastError: string | null;
  /** When the row last changed (ms since the epoch, the database's clock). */
  readonly updatedAt: number;
}

/** One call a provider accepted (`provider_sends`); `duplicate` when it recognised the idempotency key. */
export interface ProviderSend {
  readonly notificationId: string;
  readonly duplicate: boolean;
}

/** A message in the notifications DLQ: whose it is and the reason it carries. */
export interface NotificationDeadLetter {
  readonly notificationId: string;
  readonly reason: string | undefined;
}

export interface NotificationRecords {
  readonly rows: readonly NotificationRow[];
  readonly sends: readonly ProviderSend[];
  /** The DLQ's messages; leave out when the check should not look at the queue. */
  readonly deadLetters?: readonly NotificationDeadLetter[];
}

export interface NotificationCheckOptions {
  /** Failed provider attempts after which a notification is dead-lettered (the worker's N). @defaultValue 3 */
  readonly maxProviderAttempts?: number;
  /** Error codes that dead-letter at once (`CODE: reason` in `last_error`). @defaultValue {@link PERMANENT_NOTIFICATION_CODES} */
  readonly permanentCodes?: readonly string[];
  /** How long a row may stay queued, sending or failed (the reconciler's bound). */
  readonly settleWithinMs: number;
  /** "Now" on the database's clock (ms). */
  readonly now: number;
}

/** Failures that dead-letter without retries: the provider refused for good, the message cannot be read, no provider. */
export const PERMANENT_NOTIFICATION_CODES: readonly string[] = ['PROVIDER.REJECTED', 'NOTIFICATION.POISON', 'NOTIFICATION.NO_PROVIDER'];

const UNSETTLED = new Set(['queued', 'sending', 'failed']);

/** Checks the notification contract over a run's records; see {@link NOTIFICATION_INVARIANTS}. */
export function checkNotifications(
  acknowledged: readonly AcknowledgedNotification[],
  records: NotificationRecords,
  options: NotificationCheckOptions,
): InvariantReport {
  const check = new InvariantCheck('notifications', NOTIFICATION_INVARIANTS);
  const maxAttempts = options.maxProviderAttempts ?? 3;
  const permanent = new Set(options.permanentCodes ?? PERMANENT_NOTIFICATION_CODES);
  const rows = new Map(records.rows.map((row) => [row.id, row]));
  const delivered = new Map<string, number>();
  for (const send of records.sends) {
    if (send.duplicate) check.count('redundant provider calls');
    else delivered.set(send.notificationId, (delivered.get(send.notificationId) ?? 0) + 1);
  }
  const deadLetters = records.deadLetters && new Map(records.deadLetters.map((letter) => [letter.notificationId, letter]));

  const acknowledgedIds = new Set(acknowledged.map((a) => a.id));
  for (const id of acknowledgedIds) {
    if (!rows.has(id)) {
      check.record();
      check.violated('lost', id, 'acknowledged (202) but no notifications row holds it');
    }
  }
  for (const row of records.rows) {
    check.record();
    if (!acknowledgedIds.has(row.id)) check.count('rows nobody was told about');
    const accepted = delivered.get(row.id) ?? 0;
    const age = options.now - row.updatedAt;
    if (accepted > 1) check.violated('duplicated', row.id, `the provider accepted it ${accepted} times (status ${row.status})`);
    if (row.status === 'sent') {
      check.count('sent');
      if (accepted === 0) check.violated('lost', row.id, 'status sent, but no provider accepted it');
    } else if (row.status === 'dead_lettered') {
      check.count('dead-lettered');
      checkDeadLettered(check, row, accepted, { maxAttempts, permanent, deadLetters });
    } else if (UNSETTLED.has(row.status)) {
      if (age > options.settleWithinMs) {
        const truth = accepted > 0 ? '; the provider accepted it' : '';
        check.violated(
          'not settled',
          row.id,
          `${row.status} for ${Math.round(age / 1_000)} s (bound ${options.settleWithinMs / 1_000} s)${truth}`,
        );
      } else check.count('still settling');
    } else {
      check.violated('status not the truth', row.id, `unknown status ${row.status}`);
    }
  }
  if (deadLetters) {
    for (const [id, letter] of deadLetters) {
      const row = rows.get(id);
      if (row?.status === 'sent') check.count('dead letters of sent notifications');
      else if (!row) check.count('dead letters without a row');
      else if (row.status !== 'dead_lettered') check.count(`dead letters of ${row.status} notifications`);
      if (!letter.reason) check.violated('dead-lettered without a reason', id, 'its dead letter carries no x-error-reason');
    }
  }
  return check.report();
}

function checkDeadLettered(
  check: InvariantCheck,
  row: NotificationRow,
  accepted: number,
  context: { maxAttempts: number; permanent: ReadonlySet<string>; deadLetters: ReadonlyMap<string, NotificationDeadLetter> | undefined },
): void {
  const code = /^([A-Z][A-Z0-9_.]*): /.exec(row.lastError ?? '')?.[1];
  if (!row.lastError) check.violated('dead-lettered without a reason', row.id, 'status dead_lettered, last_error empty');
  if (accepted > 0)
    check.violated('status not the truth', row.id, `dead_lettered (${row.lastError ?? 'no reason'}), but the provider accepted it`);
  else if (!(code !== undefined && context.permanent.has(code)) && row.providerFailures < context.maxAttempts) {
    check.violated(
      'wrongly dead-lettered',
      row.id,
      `${row.providerFailures} of ${context.maxAttempts} provider attempts failed, and ${code ?? 'its reason'} is not permanent: "${row.lastError ?? ''}"`,
    );
  }
  if (context.deadLetters && !context.deadLetters.has(row.id)) {
    check.violated('dead-lettered without a dead letter', row.id, 'status dead_lettered, but no message of the DLQ is for it');
  }
}

/** The rows and provider calls of these notifications (all when `ids` is left out), and the database's clock. */
export async function readNotificationRecords(
  pool: Pool,
  ids?: readonly string[],
): Promise<{ rows: NotificationRow[]; sends: ProviderSend[]; now: number }> {
  const filter = ids ? 'WHERE id = ANY($1::uuid[])' : '';
  const params = ids ? [ids] : [];
  const [rows, sends, clock] = await Promise.all([
    pool.query<{ id: string; status: string; provider_failures: number; last_error: string | null; updated_ms: string }>(
      `SELECT id, status, provider_failures, last_error, (extract(epoch FROM updated_at) * 1000)::bigint AS updated_ms
         FROM notifications ${filter}`,
      params,
    ),
    pool.query<{ notification_id: string; duplicate: boolean }>(
      `SELECT notification_id, duplicate FROM provider_sends ${ids ? 'WHERE notification_id = ANY($1::uuid[])' : ''}`,
      params,
    ),
    pool.query<{ now_ms: string }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms`),
  ]);
  return {
    rows: rows.rows.map((r) => ({
      id: r.id,
      status: r.status,
      providerFailures: r.provider_failures,
      lastError: r.last_error,
      updatedAt: Number(r.updated_ms),
    })),
    sends: sends.rows.map((s) => ({ notificationId: s.notification_id, duplicate: s.duplicate })),
    now: Number(clock.rows[0]?.now_ms ?? Date.now()),
  };
}
