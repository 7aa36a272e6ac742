import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { PermanentError } from '@qls/messaging';

export interface Lease {
  readonly notificationId: string;
  /** Fencing token: only the holder of the current token may record an outcome. */
  readonly token: string;
  /** Attempts so far, this one included. */
  readonly attempts: number;
}

export type Claim =
  | { readonly kind: 'lease'; readonly lease: Lease }
  | { readonly kind: 'done' }
  /** Another worker holds an unexpired lease, for about `remainingMs` more. */
  | { readonly kind: 'busy'; readonly remainingMs: number };

export interface SendGuardOptions {
  /** How long a lease lasts: longer than the slowest send the worker allows. */
  readonly leaseMs: number;
  /** @defaultValue 24 h */
  readonly doneTtlMs?: number;
}

/**
 * "Send at most once" across workers that may receive the same message twice
 * at once (SQS is at-least-once).
 *
 * 1. Redis `done:<id>` marker (24 h): a repeat is acknowledged without touching Postgres.
 * 2. Redis `lease:<id>` (SET NX PX): a cheap first filter between workers.
 * 3. **The durable fence** — the notification row: `UPDATE … SET lease_token`
 *    succeeds only if the row is not sent and no one holds an unexpired lease.
 *    Redis can lose a write (failover, eviction); this row cannot. A worker
 *    whose lease expired (paused past the timeout) fails {@link holds} and
 *    must not send; its outcome updates match no row.
 */
export class SendGuard {
  constructor(
    private readonly pool: Pool,
    private readonly redis: Redis,
    private readonly options: SendGuardOptions,
  ) {}

  async claim(notificationId: string): Promise<Claim> {
    if ((await this.redis.exists(doneKey(notificationId))) === 1) return { kind: 'done' };
    const token = randomUUID();
    if ((await this.redis.set(leaseKey(notificationId), token, 'PX', this.options.leaseMs, 'NX')) !== 'OK') {
      return { kind: 'busy', remainingMs: Math.max(0, await this.redis.pttl(leaseKey(notificationId))) };
    }
    const { rows } = await this.pool.query<{ attempts: number }>(
      `UPDATE notifications
          SET status = 'sending', lease_token = $2, lease_until = now() + make_interval(secs => $3::double precision / 1000),
              attempts = attempts + 1, updated_at = now()
        WHERE id = $1 AND status <> 'sent' AND (status <> 'sending' OR lease_until < now())
        RETURNING attempts`,
      [notificationId, token, this.options.leaseMs],
    );
    if (rows[0]) return { kind: 'lease', lease: { notificationId, token, attempts: rows[0].attempts } };

    await this.redis.del(leaseKey(notificationId));
    const { rows: current } = await this.pool.query<{ status: string; remaining_ms: number | null }>(
      'SELECT status, extract(epoch FROM lease_until - now())::float8 * 1000 AS remaining_ms FROM notifications WHERE id = $1',
      [notificationId],
    );
    if (!current[0]) throw new PermanentError('NOTIFICATION.UNKNOWN', `notification ${notificationId} does not exist`);
    if (current[0].status !== 'sent') return { kind: 'busy', remainingMs: Math.max(0, current[0].remaining_ms ?? 0) };
    await this.markDone(notificationId);
    return { kind: 'done' };
  }

  /** True while `lease` is still the current, unexpired lease — checked right before calling the provider. */
  async holds(lease: Lease): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM notifications WHERE id = $1 AND lease_token = $2 AND lease_until > now()', [
      lease.notificationId,
      lease.token,
    ]);
    return rowCount === 1;
  }

  /** A holder renews its lease this often while a send runs. */
  get renewEveryMs(): number {
    return this.options.leaseMs / 3;
  }

  /** Extends the lease while a slow send runs; false once it is lost (expired and taken over). */
  async renew(lease: Lease): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE notifications SET lease_until = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1 AND lease_token = $2 AND lease_until > now()`,
      [lease.notificationId, lease.token, this.options.leaseMs],
    );
    if (rowCount === 1) await this.redis.pexpire(leaseKey(lease.notificationId), this.options.leaseMs);
    return rowCount === 1;
  }

  /** Records the send, then the done marker; the message is deleted only after this. */
  async sent(lease: Lease): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE notifications SET status = 'sent', sent_at = now(), updated_at = now(), lease_token = NULL, lease_until = NULL, last_error = NULL
        WHERE id = $1 AND lease_token = $2`,
      [lease.notificationId, lease.token],
    );
    await this.markDone(lease.notificationId);
    return rowCount === 1;
  }

  /** Records a failed attempt and gives the lease up, so a redelivery can take it at once. */
  async failed(lease: Lease, reason: string, status: 'failed' | 'dead_lettered'): Promise<void> {
    await this.pool.query(
      `UPDATE notifications SET status = $3, last_error = $4, updated_at = now(), lease_token = NULL, lease_until = NULL
        WHERE id = $1 AND lease_token = $2`,
      [lease.notificationId, lease.token, status, reason.slice(0, 2_000)],
    );
    await this.redis.del(leaseKey(lease.notificationId));
  }

  private async markDone(notificationId: string): Promise<void> {
    await this.redis
      .multi()
      .set(doneKey(notificationId), '1', 'PX', this.options.doneTtlMs ?? 86_400_000)
      .del(leaseKey(notificationId))
      .exec();
  }
}

const leaseKey = (id: string) => `notification:lease:${id}`;
const doneKey = (id: string) => `notification:done:${id}`;
