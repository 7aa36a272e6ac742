import type { Pool } from 'pg';
import { z } from 'zod';
import { NotificationNotFoundError } from './notification.errors';
import { type Caller, type NotificationRow, type NotificationView, VIEW_COLUMNS, toView } from './notification.view';

// Any 8-4-4-4-12 hex string Postgres would accept as a uuid.
const uuid = z.guid();

/**
 * The caller's notification `id`, as it is now.
 *
 * @throws NotificationNotFoundError when there is none — also when `id` is not
 * a UUID or belongs to another user (never "forbidden": that would confirm it exists)
 */
export async function getNotification(pool: Pool, caller: Caller, id: string): Promise<NotificationView> {
  if (!uuid.safeParse(id).success) throw new NotificationNotFoundError(id);
  const { rows } = await pool.query<NotificationRow>(`SELECT ${VIEW_COLUMNS} FROM notifications WHERE id = $1 AND user_id = $2`, [
    id,
    caller.userId,
  ]);
  const row = rows[0];
  if (row === undefined) throw new NotificationNotFoundError(id);
  return toView(row);
}
