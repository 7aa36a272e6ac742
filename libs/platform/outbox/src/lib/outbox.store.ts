import type { Pool, PoolClient } from 'pg';

/** A pending row as the relay reads it. */
export interface OutboxRow {
  readonly id: string;
  readonly eventId: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly eventType: string;
  /** JSON text, published as is. */
  readonly payload: string;
  readonly destination: string;
  readonly key: string;
  readonly headers: Record<string, string>;
  readonly attempts: number;
}

export interface OutboxStats {
  readonly pending: number;
  readonly oldestPendingAgeSeconds: number;
  readonly parked: number;
}

export interface Claimed {
  readonly rows: OutboxRow[];
  /** More due rows may be waiting right now: all claimed buckets or a bucket's share were full. */
  readonly more: boolean;
}

/**
 * Claims, inside the caller's transaction, up to `buckets` buckets that have
 * due work and no other relay holds, then up to `limit` of their pending rows
 * in id order. A row backing off after a failure holds back the later rows of
 * its aggregate to the same destination (their order), nothing else.
 */
export async function claim(client: PoolClient, buckets: number, limit: number): Promise<Claimed> {
  const { rows: held } = await client.query<{ bucket: number }>(
    // LATERAL … LIMIT 1: one index probe per bucket, whatever the planner's statistics say.
    `SELECT b.bucket FROM outbox_buckets b
      CROSS JOIN LATERAL (SELECT 1 FROM outbox o
                           WHERE o.bucket = b.bucket AND o.published_at IS NULL AND o.parked_at IS NULL AND o.next_attempt_at <= now()
                           LIMIT 1) due
      ORDER BY random()
      LIMIT $1
      FOR UPDATE OF b SKIP LOCKED`,
    [buckets],
  );
  if (held.length === 0) return { rows: [], more: false };
  const perBucket = Math.ceil(limit / held.length);
  const { rows } = await client.query<{
    id: string;
    bucket: number;
    event_id: string;
    aggregate_type: string;
    aggregate_id: string;
    event_type: string;
    payload: string;
    destination: string;
    key: string;
    headers: Record<string, string>;
    attempts: number;
  }>(
    `SELECT o.id, o.bucket, o.event_id, o.aggregate_type, o.aggregate_id, o.event_type, o.payload::text AS payload,
            o.destination, coalesce(o.message_key, o.aggregate_id) AS key, o.headers, o.attempts
       FROM unnest($1::smallint[]) AS b(bucket)
       CROSS JOIN LATERAL (
         SELECT * FROM outbox o
          WHERE o.bucket = b.bucket AND o.published_at IS NULL AND o.parked_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM outbox f
                             WHERE f.aggregate_type = o.aggregate_type AND f.aggregate_id = o.aggregate_id
                               AND f.destination = o.destination AND f.id <= o.id
                               AND f.attempts > 0 AND f.published_at IS NULL AND f.parked_at IS NULL AND f.next_attempt_at > now())
          ORDER BY o.id
          LIMIT $2
       ) o
      ORDER BY o.id
      LIMIT $3`,
    [held.map((h) => h.bucket), perBucket, limit],
  );
  const perBucketCount = new Map<number, number>();
  for (const r of rows) perBucketCount.set(r.bucket, (perBucketCount.get(r.bucket) ?? 0) + 1);
  const more = held.length === buckets || rows.length === limit || [...perBucketCount.values()].some((n) => n >= perBucket);
  const claimed = rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    aggregateType: r.aggregate_type,
    aggregateId: r.aggregate_id,
    eventType: r.event_type,
    payload: r.payload,
    destination: r.destination,
    key: r.key,
    headers: r.headers,
    attempts: r.attempts,
  }));
  return { rows: claimed, more };
}

/**
 * `published_at` is taken after the broker acknowledged (clock_timestamp, not
 * the transaction start). Returns each row's seconds from `created_at` — the
 * writer's transaction start, the closest to its commit that Postgres records.
 */
export async function markPublished(client: PoolClient, ids: readonly string[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const { rows } = await client.query<{ seconds: number }>(
    `UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])
     RETURNING extract(epoch FROM published_at - created_at)::float8 AS seconds`,
    [ids],
  );
  return rows.map((r) => r.seconds);
}

/**
 * Records a failed attempt. The row is retried after `retryInMs` — or parked
 * (no more automatic retries) when `park` is set.
 */
export async function markFailed(
  client: PoolClient,
  ids: readonly string[],
  error: string,
  retryInMs: number,
  park: boolean,
): Promise<void> {
  if (ids.length === 0) return;
  await client.query(
    `UPDATE outbox
        SET attempts = attempts + 1, last_error = $2,
            next_attempt_at = now() + make_interval(secs => $3::double precision / 1000),
            parked_at = CASE WHEN $4::boolean THEN now() END
      WHERE id = ANY($1::bigint[])`,
    [ids, error.slice(0, 2_000), retryInMs, park],
  );
}

/** Puts parked rows (all, or the given ids) back in line, with a fresh attempt budget. Returns how many. */
export async function retryParked(pool: Pool, ids?: readonly string[]): Promise<number> {
  const { rowCount } = await pool.query(
    `UPDATE outbox SET parked_at = NULL, attempts = 0, next_attempt_at = '-infinity'
      WHERE parked_at IS NOT NULL AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))`,
    [ids ?? null],
  );
  return rowCount ?? 0;
}

export interface ParkedRow {
  readonly id: string;
  readonly eventId: string;
  readonly destination: string;
  readonly eventType: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly parkedAt: Date;
}

export async function listParked(pool: Pool, limit = 100): Promise<ParkedRow[]> {
  const { rows } = await pool.query<{
    id: string;
    event_id: string;
    destination: string;
    event_type: string;
    attempts: number;
    last_error: string | null;
    parked_at: Date;
  }>(
    `SELECT id, event_id, destination, event_type, attempts, last_error, parked_at
       FROM outbox WHERE parked_at IS NOT NULL ORDER BY id LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    destination: r.destination,
    eventType: r.event_type,
    attempts: r.attempts,
    lastError: r.last_error,
    parkedAt: r.parked_at,
  }));
}

/** Deletes published rows older than the retention, in chunks. Returns how many. */
export async function deletePublished(pool: Pool, retentionMs: number, chunk = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await pool.query(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE published_at < now() - make_interval(secs => $1::double precision / 1000) LIMIT $2)`,
      [retentionMs, chunk],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < chunk) return total;
  }
}

export async function stats(pool: Pool): Promise<OutboxStats> {
  const { rows } = await pool.query<{ pending: number; oldest: number | null; parked: number }>(
    `SELECT (SELECT count(*)::int FROM outbox WHERE published_at IS NULL AND parked_at IS NULL) AS pending,
            (SELECT extract(epoch FROM now() - min(head.created_at))::float8
               FROM outbox_buckets b
               CROSS JOIN LATERAL (SELECT created_at FROM outbox o
                                    WHERE o.bucket = b.bucket AND o.published_at IS NULL AND o.parked_at IS NULL
                                    ORDER BY o.id LIMIT 1) head) AS oldest,
            (SELECT count(*)::int FROM outbox WHERE parked_at IS NOT NULL) AS parked`,
  );
  const row = rows[0];
  return { pending: row?.pending ?? 0, oldestPendingAgeSeconds: Math.max(0, row?.oldest ?? 0), parked: row?.parked ?? 0 };
}
