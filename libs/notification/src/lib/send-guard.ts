import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { Coalescer } from '@qls/batching';
import { PermanentError } from '@qls/messaging';
import { RedisScript } from '@qls/redis';

export interface Lease {
  readonly notificationId: string;
  /** Fencing token: only the holder of the current token may record an outcome. */
  readonly token: string;
  /** Attempts so far, this one included. */
  readonly attempts: number;
  /**
   * `performance.now()` before which the lease is certainly still held: the
   * claim was sent at t, and Postgres set `lease_until` to its own now() —
   * which is after t — plus `leaseMs`. Less a safety margin for clock rates.
   */
  readonly surelyHeldUntil: number;
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
 *
 * The claim and `sent` updates of concurrent sends go to Postgres as one
 * statement per batch ({@link Coalescer}): a worker with 200 sends in flight
 * pays a round trip and a commit per batch, not per notification.
 */
export class SendGuard {
  private readonly claims: Coalescer<{ id: string; token: string }, number | undefined>;
  private readonly sends: Coalescer<{ id: string; token: string }, boolean>;

  constructor(
    private readonly pool: Pool,
    private readonly redis: Redis,
    private readonly options: SendGuardOptions,
  ) {
    this.claims = new Coalescer({ run: (leases) => this.claimAll(leases), maxInFlight: 2 });
    this.sends = new Coalescer({ run: (leases) => this.recordSent(leases), maxInFlight: 2 });
  }

  async claim(notificationId: string): Promise<Claim> {
    const token = randomUUID();
    const fast = Number(
      await FAST_CLAIM.run(this.redis, [doneKey(notificationId), leaseKey(notificationId)], [token, this.options.leaseMs]),
    );
    if (fast === DONE) return { kind: 'done' };
    if (fast !== LEASED) return { kind: 'busy', remainingMs: Math.max(0, fast) };
    const claimedAt = performance.now();
    const attempts = await this.claims.submit({ id: notificationId, token }).catch(async (error: unknown) => {
      // The durable claim failed (Postgres away, a deadlock): give the Redis lease
      // back, or the redelivery would wait it out as "busy".
      await this.redis.del(leaseKey(notificationId)).catch(() => undefined);
      throw error;
    });
    if (attempts !== undefined) {
      const surelyHeldUntil = claimedAt + this.options.leaseMs * (1 - LEASE_SAFETY_MARGIN);
      return { kind: 'lease', lease: { notificationId, token, attempts, surelyHeldUntil } };
    }

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

  /**
   * True while `lease` is still the current, unexpired lease — checked right
   * before calling the provider. Right after the claim the local clock answers
   * (see {@link Lease.surelyHeldUntil}); a worker that was paused since asks
   * Postgres.
   */
  async holds(lease: Lease): Promise<boolean> {
    if (performance.now() < lease.surelyHeldUntil) return true;
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
    const recorded = await this.sends.submit({ id: lease.notificationId, token: lease.token });
    await this.markDone(lease.notificationId);
    return recorded;
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

  /**
   * One UPDATE for a batch of claims; the attempt count for each lease taken.
   * A lease is taken only if its own token was written: should one id appear
   * twice in a batch (Redis lost the first lease), one of the two wins.
   */
  private async claimAll(leases: readonly { id: string; token: string }[]): Promise<(number | undefined)[]> {
    const { rows } = await this.pool.query<{ id: string; token: string; attempts: number }>(
      `UPDATE notifications n
          SET status = 'sending', lease_token = c.token, lease_until = now() + make_interval(secs => $3::double precision / 1000),
              attempts = n.attempts + 1, updated_at = now()
         FROM unnest($1::uuid[], $2::uuid[]) AS c(id, token)
        WHERE n.id = c.id AND n.status <> 'sent' AND (n.status <> 'sending' OR n.lease_until < now())
        RETURNING n.id, n.lease_token AS token, n.attempts`,
      [leases.map((l) => l.id), leases.map((l) => l.token), this.options.leaseMs],
    );
    const taken = new Map(rows.map((r) => [r.token, r.attempts]));
    return leases.map((l) => taken.get(l.token));
  }

  /** One UPDATE for a batch of sends; true for each whose lease was still current. */
  private async recordSent(leases: readonly { id: string; token: string }[]): Promise<boolean[]> {
    const { rows } = await this.pool.query<{ token: string }>(
      `UPDATE notifications n
          SET status = 'sent', sent_at = now(), updated_at = now(), lease_token = NULL, lease_until = NULL, last_error = NULL
         FROM unnest($1::uuid[], $2::uuid[]) AS c(id, token)
        WHERE n.id = c.id AND n.lease_token = c.token
        RETURNING c.token`,
      [leases.map((l) => l.id), leases.map((l) => l.token)],
    );
    const recorded = new Set(rows.map((r) => r.token));
    return leases.map((l) => recorded.has(l.token));
  }

  private async markDone(notificationId: string): Promise<void> {
    await MARK_DONE.run(this.redis, [doneKey(notificationId), leaseKey(notificationId)], [this.options.doneTtlMs ?? 86_400_000]);
  }
}

/**
 * Steps 1 and 2 in one round trip: -1 when the done marker is set, -2 when
 * this caller got the lease, else the milliseconds left on someone else's.
 */
const FAST_CLAIM = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return -2 end
return math.max(redis.call('PTTL', KEYS[2]), 0)`);
const DONE = -1;
const LEASED = -2;

/** Share of a lease the local clock vouches for (clock rates differ a little; pauses are what the check is for). */
const LEASE_SAFETY_MARGIN = 0.2;

/**
 * Step 3 in one command: the done marker set and the lease dropped together
 * (one round trip and one command for Redis, where MULTI/SET/DEL/EXEC was four).
 */
const MARK_DONE = new RedisScript(`
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('DEL', KEYS[2])`);

// One hash tag per notification: a script's keys must share a slot on Redis Cluster.
const leaseKey = (id: string) => `notification:{${id}}:lease`;
const doneKey = (id: string) => `notification:{${id}}:done`;
