import type { Pool } from 'pg';
import { type Transaction, inTransaction } from '@qls/outbox';

/** A partition's checkpoint as claimed by one assignment. */
export interface ClaimedCheckpoint {
  readonly partition: number;
  /** Fencing token of this assignment: only its holder may write the checkpoint. */
  readonly epoch: number;
  /** Offset of the next record to process, or null before the first checkpoint. */
  readonly nextOffset: number | null;
  /** The alerter's partition snapshot, or null (fresh state). */
  readonly state: unknown;
}

export interface CheckpointEntry {
  readonly partition: number;
  readonly epoch: number;
  readonly nextOffset: number;
  /** The alerter's partition snapshot as JSON text (serialised once, by the caller). */
  readonly state: string;
  readonly maxEventTime: number | null;
}

/** A newer assignment claimed these partitions: this member must drop them. */
export class FencedError extends Error {
  constructor(readonly partitions: readonly number[]) {
    super(`checkpoint of partition(s) ${partitions.join(', ')} was claimed by a newer assignment; dropping them`);
    this.name = 'FencedError';
  }
}

/** The saved state a replay rewinds a partition to (or none: fresh state from the target offset). */
export interface RewindTarget {
  readonly partition: number;
  /** The offset a reset to the timestamp would start from. */
  readonly targetOffset: number;
  /**
   * The newest state saved at or before it: a savepoint, or the current
   * checkpoint when the group has not read that far yet (kept as it is).
   */
  readonly savepoint: {
    readonly source: 'savepoint' | 'checkpoint';
    readonly nextOffset: number;
    readonly takenAt: string;
    readonly maxEventTime: number | null;
  } | null;
}

/**
 * State and offsets of the windowed alerter in Postgres (migration
 * 0004_alerter_checkpoints.sql, ADR 0008). Written in the caller's
 * transaction, so the alerts that a state change produced (outbox rows)
 * commit with it or not at all.
 */
export class CheckpointStore {
  constructor(
    private readonly pool: Pool,
    readonly groupId: string,
    readonly topic: string,
  ) {}

  /**
   * Claims the partitions for a new assignment: bumps each one's epoch (which
   * fences every earlier holder) and returns the state to restore.
   */
  async claim(partitions: readonly number[]): Promise<ClaimedCheckpoint[]> {
    if (partitions.length === 0) return [];
    const { rows } = await this.pool.query<{ partition: number; epoch: string; next_offset: string | null; state: unknown }>(
      `INSERT INTO alerter_checkpoints (group_id, topic, partition, epoch)
       SELECT $1, $2, p, 1 FROM unnest($3::int[]) AS p
       ON CONFLICT (group_id, topic, partition)
       DO UPDATE SET epoch = alerter_checkpoints.epoch + 1, updated_at = now()
       RETURNING partition, epoch, next_offset, state`,
      [this.groupId, this.topic, partitions],
    );
    return rows.map((row) => ({
      partition: row.partition,
      epoch: Number(row.epoch),
      nextOffset: row.next_offset === null ? null : Number(row.next_offset),
      state: row.state,
    }));
  }

  /** Writes checkpoints in `tx`; throws {@link FencedError} (rolling back `tx`) when an entry's epoch is no longer current. */
  async write(tx: Transaction, entries: readonly CheckpointEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const { rows } = await tx.client.query<{ partition: number }>(
      `UPDATE alerter_checkpoints c
          SET next_offset = e.next_offset, state = e.state, max_event_time = e.max_event_time, updated_at = now()
         FROM unnest($3::int[], $4::bigint[], $5::bigint[], $6::jsonb[], $7::bigint[])
              AS e(partition, epoch, next_offset, state, max_event_time)
        WHERE c.group_id = $1 AND c.topic = $2 AND c.partition = e.partition AND c.epoch = e.epoch
        RETURNING c.partition`,
      [
        this.groupId,
        this.topic,
        entries.map((e) => e.partition),
        entries.map((e) => e.epoch),
        entries.map((e) => e.nextOffset),
        entries.map((e) => e.state),
        entries.map((e) => e.maxEventTime),
      ],
    );
    if (rows.length !== entries.length) {
      const written = new Set(rows.map((row) => row.partition));
      throw new FencedError(entries.filter((e) => !written.has(e.partition)).map((e) => e.partition));
    }
  }

  /** Keeps a copy of these checkpoints for replays; drops copies older than `retentionMs`. */
  async savepoint(tx: Transaction, entries: readonly CheckpointEntry[], retentionMs: number): Promise<void> {
    if (entries.length === 0) return;
    await tx.client.query(
      `INSERT INTO alerter_savepoints (group_id, topic, partition, next_offset, state, max_event_time)
       SELECT $1, $2, e.partition, e.next_offset, e.state, e.max_event_time
         FROM unnest($3::int[], $4::bigint[], $5::jsonb[], $6::bigint[]) AS e(partition, next_offset, state, max_event_time)
       ON CONFLICT DO NOTHING`,
      [
        this.groupId,
        this.topic,
        entries.map((e) => e.partition),
        entries.map((e) => e.nextOffset),
        entries.map((e) => e.state),
        entries.map((e) => e.maxEventTime),
      ],
    );
    await tx.client.query(
      `DELETE FROM alerter_savepoints WHERE group_id = $1 AND topic = $2 AND taken_at < now() - make_interval(secs => $3)`,
      [this.groupId, this.topic, retentionMs / 1_000],
    );
  }

  /** For each partition, the newest saved state (savepoint or current checkpoint) whose offset is at or before `offset`. */
  async planRewind(targets: readonly { partition: number; offset: number }[]): Promise<RewindTarget[]> {
    if (targets.length === 0) return [];
    const { rows } = await this.pool.query<{
      partition: number;
      target: string;
      source: 'savepoint' | 'checkpoint' | null;
      next_offset: string | null;
      taken_at: Date | null;
      max_event_time: string | null;
    }>(
      `SELECT t.partition, t.target, s.source, s.next_offset, s.taken_at, s.max_event_time
         FROM unnest($3::int[], $4::bigint[]) AS t(partition, target)
         LEFT JOIN LATERAL (
           (SELECT 'checkpoint' AS source, next_offset, updated_at AS taken_at, max_event_time FROM alerter_checkpoints
             WHERE group_id = $1 AND topic = $2 AND partition = t.partition AND next_offset <= t.target)
           UNION ALL
           (SELECT 'savepoint', next_offset, taken_at, max_event_time FROM alerter_savepoints
             WHERE group_id = $1 AND topic = $2 AND partition = t.partition AND next_offset <= t.target
             ORDER BY next_offset DESC LIMIT 1)
           ORDER BY next_offset DESC, source LIMIT 1
         ) s ON true
        ORDER BY t.partition`,
      [this.groupId, this.topic, targets.map((t) => t.partition), targets.map((t) => t.offset)],
    );
    return rows.map((row) => ({
      partition: row.partition,
      targetOffset: Number(row.target),
      savepoint:
        row.next_offset === null || row.source === null
          ? null
          : {
              source: row.source,
              nextOffset: Number(row.next_offset),
              takenAt: (row.taken_at ?? new Date(0)).toISOString(),
              maxEventTime: row.max_event_time === null ? null : Number(row.max_event_time),
            },
    }));
  }

  /**
   * Rewinds the checkpoints as planned, in one transaction: each partition's
   * state becomes its savepoint's (or empty) and its next offset the
   * savepoint's (or the target). The epoch moves on, fencing any member that
   * still holds the old state. Returns the offsets the group must restart from.
   */
  async applyRewind(plan: readonly RewindTarget[]): Promise<{ partition: number; offset: number }[]> {
    if (plan.length === 0) return [];
    const kept = plan.filter((p) => p.savepoint?.source === 'checkpoint');
    const rewound = plan.filter((p) => p.savepoint?.source !== 'checkpoint');
    await inTransaction(this.pool, async ({ client }) => {
      // Not read that far yet: the checkpoint stays, under a new epoch.
      await client.query(
        `UPDATE alerter_checkpoints SET epoch = epoch + 1, updated_at = now()
          WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int[])`,
        [this.groupId, this.topic, kept.map((p) => p.partition)],
      );
      await client.query(
        `INSERT INTO alerter_checkpoints AS c (group_id, topic, partition, epoch, next_offset, state, max_event_time)
         SELECT $1, $2, p.partition, 1, p.start_offset, s.state, s.max_event_time
           FROM unnest($3::int[], $4::bigint[], $5::bigint[]) AS p(partition, start_offset, savepoint_offset)
           LEFT JOIN alerter_savepoints s
             ON s.group_id = $1 AND s.topic = $2 AND s.partition = p.partition AND s.next_offset = p.savepoint_offset
         ON CONFLICT (group_id, topic, partition) DO UPDATE
           SET epoch = c.epoch + 1, next_offset = EXCLUDED.next_offset, state = EXCLUDED.state,
               max_event_time = EXCLUDED.max_event_time, updated_at = now()`,
        [
          this.groupId,
          this.topic,
          rewound.map((p) => p.partition),
          rewound.map((p) => p.savepoint?.nextOffset ?? p.targetOffset),
          rewound.map((p) => p.savepoint?.nextOffset ?? null),
        ],
      );
    });
    return plan.map((p) => ({ partition: p.partition, offset: p.savepoint?.nextOffset ?? p.targetOffset }));
  }
}
