import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { migrate, readMigrations } from '@qls/provisioning';
import { suiteSchema, waitFor } from '@qls/testing';
import { type Lease, LocalProvider, SendGuard } from './index';

describe('SendGuard and LocalProvider (real Postgres and Redis)', () => {
  const db = suiteSchema({ migrate, readMigrations }, { each: true });
  let redis: Redis;

  beforeEach(async () => {
    redis = db.resources.redis();
  });

  async function notifications(count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, () => randomUUID());
    await db.pool.query(
      `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data)
       SELECT id, 'u1', id::text, 'email', 'welcome', '{}' FROM unnest($1::uuid[]) AS id`,
      [ids],
    );
    return ids;
  }

  function leaseOf(claim: Awaited<ReturnType<SendGuard['claim']>>): Lease {
    if (claim.kind !== 'lease') throw new Error(`expected a lease, got ${claim.kind}`);
    return claim.lease;
  }

  it('claims concurrent sends in few statements and gives each its own lease', async () => {
    const guard = new SendGuard(db.pool, redis, { leaseMs: 10_000 });
    const ids = await notifications(50);
    const queries = jest.spyOn(db.pool, 'query');
    const leases = (await Promise.all(ids.map((id) => guard.claim(id)))).map(leaseOf);
    expect(new Set(leases.map((l) => l.token)).size).toBe(50);
    expect(leases.every((l) => l.attempts === 1)).toBe(true);
    expect(await Promise.all(leases.map((l) => guard.sent(l)))).toEqual(leases.map(() => ({ fenced: true, alreadySent: false })));
    // 50 claims and 50 sends, batched: far fewer statements than 100.
    expect(queries.mock.calls.length).toBeLessThan(20);
    queries.mockRestore();
    const { rows } = await db.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM notifications GROUP BY status',
    );
    expect(rows).toEqual([{ status: 'sent', n: 50 }]);
    expect((await guard.claim(ids[0] ?? '')).kind).toBe('done');
  });

  it('keeps the fence in Postgres when Redis loses the lease: a second claim is busy, not a second sender', async () => {
    const guard = new SendGuard(db.pool, redis, { leaseMs: 10_000 });
    const [id = ''] = await notifications(1);
    const first = leaseOf(await guard.claim(id));
    await redis.del(`notification:{${id}}:lease`); // Redis lost it (failover, eviction)
    const second = await guard.claim(id);
    expect(second.kind).toBe('busy');
    expect(await guard.sent(first)).toEqual({ fenced: true, alreadySent: false });
  });

  it('refuses a worker whose lease expired and was taken over: holds() is false, its failure is not recorded, an acceptance is', async () => {
    const guard = new SendGuard(db.pool, redis, { leaseMs: 300 });
    const [id = ''] = await notifications(1);
    const paused = leaseOf(await guard.claim(id));
    await waitFor(
      async () => (await db.pool.query('SELECT 1 FROM notifications WHERE id = $1 AND lease_until < now()', [id])).rowCount === 1,
      {
        timeoutMs: 5_000,
        description: 'the lease to expire',
      },
    );
    await redis.del(`notification:{${id}}:lease`); // Redis lost it (failover, eviction)
    const taker = leaseOf(await guard.claim(id));
    expect(taker.attempts).toBe(2);
    expect(await guard.holds(paused)).toBe(false);
    expect(await guard.failed(paused, 'PROVIDER.UNAVAILABLE: timed out')).toBeUndefined();
    expect(await guard.holds(taker)).toBe(true);
    // The paused worker's provider accepted after all: a fact, recorded though its fence was lost.
    expect(await guard.sent(paused)).toEqual({ fenced: false, alreadySent: false });
    expect(await guard.sent(taker)).toEqual({ fenced: false, alreadySent: true });
    const row = (await db.pool.query('SELECT status, provider_failures FROM notifications WHERE id = $1', [id])).rows[0];
    expect(row).toEqual({ status: 'sent', provider_failures: 0 });
  });

  it('gives the Redis lease back when the durable claim fails, so the redelivery is not kept waiting', async () => {
    const [id = ''] = await notifications(1);
    await db.pool.query('ALTER TABLE notifications RENAME TO notifications_away'); // Postgres refuses the claim
    const guard = new SendGuard(db.pool, redis, { leaseMs: 60_000 });
    await expect(guard.claim(id)).rejects.toThrow(/notifications/);
    expect(await redis.exists(`notification:{${id}}:lease`)).toBe(0);
    await db.pool.query('ALTER TABLE notifications_away RENAME TO notifications');
    expect((await guard.claim(id)).kind).toBe('lease');
  });

  it('finds the lease free after one busy answer even when the holder wrote its claim to Postgres late: one deadline for Redis and Postgres', async () => {
    const [id = '', warmUp = ''] = await notifications(2);
    const leaseMs = 2_000;
    // The holder's db.pool is exhausted (load): its Postgres claim starts 1.5 s after its Redis lease was taken.
    const schema = (await db.pool.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]?.schema ?? '';
    const holderPool = new Pool({ connectionString: db.resources.env.DATABASE_URL, max: 1, options: `-c search_path=${schema}` });
    db.resources.onCleanup(() => holderPool.end());
    const holder = new SendGuard(holderPool, redis, { leaseMs });
    const other = new SendGuard(db.pool, db.resources.redis(), { leaseMs });
    expect((await holder.claim(warmUp)).kind).toBe('lease'); // a busy worker: it has claimed before
    const busy = await holderPool.connect();
    const held = holder.claim(id);
    await waitFor(async () => (await redis.exists(`notification:{${id}}:lease`)) === 1, { description: "the holder's Redis lease" });
    const freed = new Promise((resolve) => setTimeout(resolve, 1_500)).then(() => busy.release());

    // Redelivered while the holder works: busy. The handler asks SQS to come back when the lease ends, plus 1 s.
    const first = await other.claim(id);
    if (first.kind !== 'busy') throw new Error(`expected busy, got ${first.kind}`);
    await new Promise((resolve) => setTimeout(resolve, first.remainingMs + 1_000));
    await freed;
    expect((await held).kind).toBe('lease');
    const second = await other.claim(id);
    expect(second).toEqual({ kind: 'lease', lease: expect.objectContaining({ notificationId: id }) });
  });

  it('records a batch of provider calls with repeats: one delivery per idempotency key, the rest as duplicates', async () => {
    const provider = new LocalProvider('push', db.pool);
    const [a = '', b = ''] = await notifications(2);
    const call = (id: string) =>
      provider.send({ notificationId: id, userId: 'u1', channel: 'push', template: 't', data: {}, idempotencyKey: id });
    await Promise.all([call(a), call(b), call(a), call(a)]);
    await call(b);
    const { rows } = await db.pool.query<{ id: string; delivered: number; duplicates: number }>(
      `SELECT notification_id AS id, count(*) FILTER (WHERE NOT duplicate)::int AS delivered, count(*) FILTER (WHERE duplicate)::int AS duplicates
         FROM provider_sends GROUP BY notification_id ORDER BY delivered, duplicates`,
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        { id: a, delivered: 1, duplicates: 2 },
        { id: b, delivered: 1, duplicates: 1 },
      ]),
    );
    expect(rows).toHaveLength(2);
  });
});
