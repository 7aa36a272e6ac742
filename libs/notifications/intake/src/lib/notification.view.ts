import type { Channel, NotificationStatus } from '@qls/notification-delivery';

/** Who is asking: the authenticated user (the token's `sub`). */
export interface Caller {
  readonly userId: string;
}

/** What a caller may see of a notification: where it is in queued → sending → sent | failed | dead_lettered. */
export interface NotificationView {
  readonly id: string;
  readonly status: NotificationStatus;
  readonly channel: Channel;
  /** Send attempts the workers made so far. */
  readonly attempts: number;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly sentAt: string | null;
  /** Why the last attempt failed, when it did. */
  readonly lastError: string | null;
}

/** The columns {@link toView} reads, for `SELECT`/`RETURNING` lists. */
export const VIEW_COLUMNS = 'id, status, channel, attempts, created_at, updated_at, sent_at, last_error';

export interface NotificationRow {
  readonly id: string;
  readonly status: NotificationStatus;
  readonly channel: Channel;
  readonly attempts: number;
  readonly created_at: Date;
  readonly updated_at: Date;
  readonly sent_at: Date | null;
  readonly last_error: string | null;
}

export function toView(row: NotificationRow): NotificationView {
  return {
    id: row.id,
    status: row.status,
    channel: row.channel,
    attempts: row.attempts,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    sentAt: row.sent_at?.toISOString() ?? null,
    lastError: row.last_error,
  };
}
