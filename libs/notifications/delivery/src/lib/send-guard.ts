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
  /** Failed provider attempts before this one (reset when a dead letter is redriven). */
  readonly providerFailures: number;
  /** The last failure recorded, `CODE: message`. */
  readonly lastError: string | null;
  /**
   * When the lease ends, in ms since the epoch on Postgres's clock: computed
   * once, before the claim, and given to both Redis and Postgres, so the two
   * leases end together however late the claim reaches Postgres.
   */
  readonly deadline: number;
  /**
   * `performance.now()` before which the lease is certainly still held: the
   * deadline was computed at t as t + `leaseMs`, less a safety margin for
   * clock rates and for the estimate of Postgres's clock.
   */
  readonly surelyHeldUntil: number;
}

/** What recording an accepted send found. */
export interface SentRecord {
  /** The lease was still this worker's: its fence held through the provider call. */
  readonly fenced: boolean;
  /** The notification was already recorded sent (by another worker): this call was redundant. */
  readonly alreadySent: boolean;
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
 * 2. Redis `lease:<id>` (its deadline and token): a cheap first filter between workers.
 * 3. **The durable fence** — the notification row: `UPDATE … SET lease_token`
 *    succeeds only if the row is not sent and no one holds an unexpired lease.
 *    Redis can lose a write (failover, eviction); this row cannot. A worker
 *    whose lease expired (paused past the timeout) fails {@link holds} and
 *    must not send; its failures are not recorded. Its *acceptance* is: a
 *    provider that accepted a notification delivered it, whatever the
 *    bookkeeping says ({@link sent}).
 *
 * One deadline, one clock: a lease's end is computed once, on Postgres's clock
 * (estimated from the offset each claim batch reports), and written to Redis
 * and Postgres alike; Redis compares it with the caller's estimate of
 * Postgres's clock. A worker told "busy for r ms" finds the lease free in both
 * after r ms, however late its holder's claim reached Postgres.
 *
 * The claim, `sent` and failure updates of concurrent sends go to Postgres as
 * one statement per batch ({@link Coalescer}): a worker with 200 sends in
 * flight pays a round trip and a commit per batch, not per notification.
 */
export class SendGuard {
  private readonly claims: Coalescer<{ id: string; token: string; deadline: number }, ClaimedRow | undefined>;
  private readonly sends: Coalescer<{ id: string; token: string }, SentRecord>;
  private readonly failures: Coalescer<{ id: string; token: string; reason: string }, number | undefined>;
  /** Postgres's clock minus this process's (`Date.now()`), in ms; learned before the first claim, refreshed by claim batches. */
  private clockOffsetMs: number | undefined;
  /** Round trip of the best clock sample so far: its offset is known to within half of it. */
  private clockRttMs: number | undefined;
  private clockSync: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly redis: Redis,
    private readonly options: SendGuardOptions,
  ) {
    this.claims = new Coalescer({ run: (leases) => this.claimAll(leases), maxInFlight: 2 });
    this.sends = new Coalescer({ run: (leases) => this.recordSent(leases), maxInFlight: 2 });
    this.failures = new Coalescer({ run: (leases) => this.recordFailures(leases), maxInFlight: 2 });
  }

  async claim(notificationId: string): Promise<Claim> {
    if (this.clockOffsetMs === undefined) await (this.clockSync ??= this.syncClock());
    const token = randomUUID();
    const startedAt = performance.now();
    const now = this.postgresNow();
    const deadline = Math.round(now + this.options.leaseMs);
    const fast = Number(
      await FAST_CLAIM.run(
        this.redis,
        [doneKey(notificationId), leaseKey(notificationId)],
        [token, deadline, Math.round(now), this.options.leaseMs * 2],
      ),
    );
    if (fast === DONE) return { kind: 'done' };
    if (fast !== LEASED) return { kind: 'busy', remainingMs: Math.max(0, fast) };
    const row = await this.claims.submit({ id: notificationId, token, deadline }).catch(async (error: unknown) => {
      // The durable claim failed (Postgres away, a deadlock): give the Redis lease
      // back, or the redelivery would wait it out as "busy".
      await this.redis.del(leaseKey(notificationId)).catch(() => undefined);
      throw error;
    });
    if (row !== undefined) {
      const surelyHeldUntil = startedAt + this.options.leaseMs * (1 - LEASE_SAFETY_MARGIN);
      return {
        kind: 'lease',
        lease: {
          notificationId,
          token,
          attempts: row.attempts,
          providerFailures: row.providerFailures,
          lastError: row.lastError,
          deadline,
          surelyHeldUntil,
        },
      };
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

  /** Extends the lease while a slow send runs (a new deadline, to both stores); false once it is lost (expired and taken over). */
  async renew(lease: Lease): Promise<boolean> {
    const deadline = Math.round(this.postgresNow() + this.options.leaseMs);
    const { rowCount } = await this.pool.query(
      `UPDATE notifications SET lease_until = to_timestamp($3::float8 / 1000)
        WHERE id = $1 AND lease_token = $2 AND lease_until > now()`,
      [lease.notificationId, lease.token, deadline],
    );
    if (rowCount === 1) {
      await this.redis.set(leaseKey(lease.notificationId), `${deadline} ${lease.token}`, 'PX', this.options.leaseMs * 2);
    }
    return rowCount === 1;
  }

  /**
   * Records an accepted send — from a stale lease too: an acceptance is a
   * fact and beats `failed` or `dead_lettered` — then the done marker; the
   * message is deleted only after this.
   */
  async sent(lease: Lease): Promise<SentRecord> {
    const recorded = await this.sends.submit({ id: lease.notificationId, token: lease.token });
    await this.markDone(lease.notificationId);
    return recorded;
  }

  /**
   * Records a failed provider attempt (`reason`: `CODE: message`) and gives
   * the lease up, so a redelivery can take it at once. Returns the
   * notification's failed provider attempts, this one included, or
   * `undefined` when the lease was no longer this worker's (nothing recorded).
   */
  async failed(lease: Lease, reason: string): Promise<number | undefined> {
    const failures = await this.failures.submit({ id: lease.notificationId, token: lease.token, reason: reason.slice(0, 2_000) });
    if (failures !== undefined) await this.redis.del(leaseKey(lease.notificationId));
    return failures;
  }

  /** Gives a lease up without an attempt (its failures were already spent: it goes to the DLQ instead). */
  async release(lease: Lease): Promise<void> {
    await this.pool.query(
      `UPDATE notifications SET status = 'failed', lease_token = NULL, lease_until = NULL, updated_at = now()
        WHERE id = $1 AND lease_token = $2`,
      [lease.notificationId, lease.token],
    );
    await this.redis.del(leaseKey(lease.notificationId));
  }

  /**
   * Records that the notification's message is in the DLQ, with the reason —
   * called once the dead-letter copy was published. A sent notification
   * stays sent, and a live lease of another worker is left alone.
   */
  async deadLettered(notificationId: string, reason: string): Promise<void> {
    await this.pool.query(
      `UPDATE notifications SET status = 'dead_lettered', last_error = $2, updated_at = now(), lease_token = NULL, lease_until = NULL
        WHERE id = $1 AND status <> 'sent' AND (status <> 'sending' OR lease_until < now())`,
      [notificationId, reason.slice(0, 2_000)],
    );
  }

  /**
   * One UPDATE for a batch of claims; the row for each lease taken. A lease
   * is taken only if its own token was written: should one id appear twice in
   * a batch (Redis lost the first lease), one of the two wins. A claim of a
   * dead-lettered notification is a redrive: its failed attempts start again.
   */
  private async claimAll(leases: readonly { id: string; token: string; deadline: number }[]): Promise<(ClaimedRow | undefined)[]> {
    const sentAt = Date.now();
    const { rows } = await this.pool.query<{
      token: string;
      attempts: number;
      provider_failures: number;
      last_error: string | null;
      now_ms: number;
    }>(
      `UPDATE notifications n
          SET status = 'sending', lease_token = c.token, lease_until = to_timestamp(c.deadline / 1000),
              attempts = n.attempts + 1, updated_at = now(),
              provider_failures = CASE WHEN n.status = 'dead_lettered' THEN 0 ELSE n.provider_failures END
         FROM unnest($1::uuid[], $2::uuid[], $3::float8[]) AS c(id, token, deadline)
        WHERE n.id = c.id AND n.status <> 'sent' AND (n.status <> 'sending' OR n.lease_until < now())
        RETURNING n.lease_token AS token, n.attempts, n.provider_failures, n.last_error,
                  extract(epoch FROM clock_timestamp())::float8 * 1000 AS now_ms`,
      [leases.map((l) => l.id), leases.map((l) => l.token), leases.map((l) => l.deadline)],
    );
    if (rows[0]) this.learnClock(rows[0].now_ms, sentAt, Date.now());
    const taken = new Map(
      rows.map((r) => [r.token, { attempts: r.attempts, providerFailures: r.provider_failures, lastError: r.last_error }]),
    );
    return leases.map((l) => taken.get(l.token));
  }

  /**
   * One UPDATE for a batch of accepted sends, whoever holds the lease now.
   * Reads each row's status and lease token before the update (locked), to
   * tell whether the send was fenced and whether it was already recorded.
   */
  private async recordSent(leases: readonly { id: string; token: string }[]): Promise<SentRecord[]> {
    const { rows } = await this.pool.query<{ id: string; holder: string | null }>(
      `WITH before AS (
         SELECT id, status, lease_token FROM notifications WHERE id = ANY($1::uuid[]) FOR UPDATE
       )
       UPDATE notifications n
          SET status = 'sent', sent_at = now(), updated_at = now(), lease_token = NULL, lease_until = NULL, last_error = NULL
         FROM before
        WHERE n.id = before.id AND before.status <> 'sent'
        RETURNING n.id, before.lease_token AS holder`,
      [leases.map((l) => l.id)],
    );
    const holders = new Map(rows.map((r) => [r.id, r.holder]));
    return leases.map((l) =>
      holders.has(l.id) ? { fenced: holders.get(l.id) === l.token, alreadySent: false } : { fenced: false, alreadySent: true },
    );
  }

  /** One UPDATE for a batch of failed attempts; each one's failure count, or undefined when its lease was lost. */
  private async recordFailures(leases: readonly { id: string; token: string; reason: string }[]): Promise<(number | undefined)[]> {
    const { rows } = await this.pool.query<{ token: string; provider_failures: number }>(
      `UPDATE notifications n
          SET status = 'failed', provider_failures = n.provider_failures + 1, last_error = c.reason,
              updated_at = now(), lease_token = NULL, lease_until = NULL
         FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS c(id, token, reason)
        WHERE n.id = c.id AND n.lease_token = c.token
        RETURNING c.token, n.provider_failures`,
      [leases.map((l) => l.id), leases.map((l) => l.token), leases.map((l) => l.reason)],
    );
    const recorded = new Map(rows.map((r) => [r.token, r.provider_failures]));
    return leases.map((l) => recorded.get(l.token));
  }

  /** Postgres's clock now, as this process estimates it. */
  private postgresNow(): number {
    return Date.now() + (this.clockOffsetMs ?? 0);
  }

  /** Learns Postgres's clock once, before the first claim (claim batches keep it fresh). */
  private async syncClock(): Promise<void> {
    const sentAt = Date.now();
    const { rows } = await this.pool.query<{ now_ms: number }>('SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS now_ms');
    if (rows[0]) this.learnClock(rows[0].now_ms, sentAt, Date.now());
    else this.clockOffsetMs ??= 0;
  }

  /**
   * Takes Postgres's time `pgNowMs`, read by a query sent at `sentAt` and
   * answered at `receivedAt`, as the middle of the round trip — unless that
   * round trip was much slower than the best one seen (it waited for a pooled
   * connection, or a busy server), which would skew the estimate by half the wait.
   */
  private learnClock(pgNowMs: number, sentAt: number, receivedAt: number): void {
    const rtt = receivedAt - sentAt;
    if (this.clockRttMs !== undefined && rtt > Math.max(2 * this.clockRttMs, CLOCK_SAMPLE_SLACK_MS)) return;
    this.clockRttMs = Math.min(this.clockRttMs ?? rtt, rtt);
    this.clockOffsetMs = pgNowMs - (sentAt + receivedAt) / 2;
  }

  private async markDone(notificationId: string): Promise<void> {
    await MARK_DONE.run(this.redis, [doneKey(notificationId), leaseKey(notificationId)], [this.options.doneTtlMs ?? 86_400_000]);
  }
}

/**
 * Steps 1 and 2 in one round trip: -1 when the done marker is set, -2 when
 * this caller got the lease, else the milliseconds left on someone else's.
 * A lease is `<deadline> <token>`; it is held while its deadline is after
 * ARGV[3], the caller's estimate of Postgres's clock (the one clock of
 * leases). The key's own expiry (ARGV[4]) only collects it.
 */
const FAST_CLAIM = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local held = redis.call('GET', KEYS[2])
if held then
  local left = tonumber(string.match(held, '^%d+') or '0') - tonumber(ARGV[3])
  if left > 0 then return math.ceil(left) end
end
redis.call('SET', KEYS[2], ARGV[2] .. ' ' .. ARGV[1], 'PX', ARGV[4])
return -2`);
const DONE = -1;
const LEASED = -2;

interface ClaimedRow {
  readonly attempts: number;
  readonly providerFailures: number;
  readonly lastError: string | null;
}

/** A clock sample whose round trip is within this (or twice the best one) is taken. */
const CLOCK_SAMPLE_SLACK_MS = 20;

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
