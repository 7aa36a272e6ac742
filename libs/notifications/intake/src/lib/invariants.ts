import type { Pool } from 'pg';

/** A notification that breaks "every row has its outbox event or a terminal status". */
export interface NotificationWithoutEvent {
  readonly id: string;
  readonly status: string;
}

/**
 * The invariant the intake keeps, for tests (integration, e2e) to check after
 * a run: every notification row has its `NotificationRequested` outbox event,
 * or has reached a terminal status (`sent`, `dead_lettered`) — once published
 * and sent, the relay may have deleted the event. Answers the rows that break
 * it (none, when it holds).
 */
export async function notificationsWithoutOutboxEvent(pool: Pool): Promise<NotificationWithoutEvent[]> {
  const { rows } = await pool.query<NotificationWithoutEvent>(
    `SELECT n.id, n.status FROM notifications n
      WHERE n.status NOT IN ('sent', 'dead_lettered')
        AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.aggregate_type = 'notification' AND o.aggregate_id = n.id::text)
      ORDER BY n.id`,
  );
  return rows;
}
