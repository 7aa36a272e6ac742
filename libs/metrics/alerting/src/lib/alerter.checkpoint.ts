import type { Message } from 'kafkajs';
import type { Pool } from 'pg';
import type { OutboundMessage } from '@qls/messaging';
import type { AlertTransition } from '@qls/metrics-windowing';
import { enqueue, inTransaction } from '@qls/outbox';
import { alertOutboxEvent } from './alerter.outputs';
import type { CheckpointEntry, CheckpointStore } from './checkpoint.store';

/**
 * A partition this member restored for the current generation, and what it
 * produced since its last checkpoint (ADR 0008).
 */
export interface OwnedPartition {
  readonly generation: number;
  readonly epoch: number;
  /** Next offset to process; null until the first record of a fresh partition. */
  nextOffset: number | null;
  maxEventTime: number | null;
  /** Progress or output since the last checkpoint. */
  dirty: boolean;
  /** Sought back to the checkpoint once in this generation. */
  sought: boolean;
  /** maxEventTime / savepoint interval, rounded down: a savepoint is taken when it grows. */
  savepointSlot: number;
  /** Savepoints taken since the last checkpoint, written with the next one. */
  savepoints: CheckpointEntry[];
  alerts: AlertTransition[];
  late: OutboundMessage[];
  deadLetters: Message[];
}

/** A partition just claimed at `epoch`, resuming at `nextOffset`, with nothing produced yet. */
export function ownedPartition(generation: number, epoch: number, nextOffset: number | null): OwnedPartition {
  return {
    generation,
    epoch,
    nextOffset,
    maxEventTime: null,
    dirty: false,
    sought: false,
    savepointSlot: Number.NEGATIVE_INFINITY,
    savepoints: [],
    alerts: [],
    late: [],
    deadLetters: [],
  };
}

/**
 * Whether a record with this timestamp moves its partition's event time into a
 * new savepoint slot (a multiple of `interval`), past the first one and once
 * the partition has an offset: a savepoint of the state before it is due.
 */
export function crossesSavepointSlot(owned: OwnedPartition, timestamp: number, interval: number): boolean {
  const slot = Math.floor(timestamp / interval);
  if (slot <= owned.savepointSlot) return false;
  const first = owned.savepointSlot === Number.NEGATIVE_INFINITY;
  owned.savepointSlot = slot;
  if (first || owned.nextOffset === null) return false;
  owned.dirty = true; // written even if the last checkpoint already holds this state
  return true;
}

/** The row of a partition's `state` (a snapshot) at its next offset, under its epoch: a checkpoint or a savepoint. */
export function checkpointEntry(partition: number, owned: OwnedPartition, state: string): CheckpointEntry {
  return { partition, epoch: owned.epoch, nextOffset: owned.nextOffset as number, state, maxEventTime: owned.maxEventTime };
}

/** Savepoints written per checkpoint transaction at most; the rest follow with the next ones. */
const SAVEPOINTS_PER_CHECKPOINT = 16;

/** What one checkpoint transaction writes. */
export interface Checkpoint {
  /** Each partition's state and next offset. */
  readonly entries: readonly CheckpointEntry[];
  /** The alert transitions produced since the last checkpoint (outbox rows). */
  readonly alerts: readonly AlertTransition[];
  readonly savepoints: readonly CheckpointEntry[];
  /** Size of the states. */
  readonly bytes: number;
}

/**
 * Moves what the dirty partitions hold into a checkpoint: each one's state
 * (`snapshot`, a string from here on, so records keep flowing while it is
 * written), next offset and alerts, and their oldest savepoints up to a bound.
 * Their late records and dead letters were published before; a partition stays
 * dirty while savepoints wait for the next checkpoint.
 */
export function takeCheckpoint(dirty: readonly (readonly [number, OwnedPartition])[], snapshot: (partition: number) => string): Checkpoint {
  const entries: CheckpointEntry[] = [];
  const savepoints: CheckpointEntry[] = [];
  const alerts: AlertTransition[] = [];
  let savepointBudget = SAVEPOINTS_PER_CHECKPOINT;
  let bytes = 0;
  for (const [partition, owned] of dirty) {
    const state = snapshot(partition);
    bytes += state.length;
    entries.push(checkpointEntry(partition, owned, state));
    alerts.push(...owned.alerts);
    // Oldest first, a bounded number per transaction: catching up on a backlog
    // crosses many slots, and one huge write would hold the checkpoint back.
    const taken = owned.savepoints.splice(0, savepointBudget);
    savepointBudget -= taken.length;
    savepoints.push(...taken);
    owned.late = [];
    owned.deadLetters = [];
    owned.alerts = [];
    owned.dirty = owned.savepoints.length > 0;
  }
  return { entries, alerts, savepoints, bytes };
}

/** A checkpoint that was not written: `partition`'s alerts and savepoints go back in front, written with its state next time. */
export function putBack(owned: OwnedPartition, checkpoint: Checkpoint, partition: number): void {
  owned.dirty = true;
  owned.alerts.unshift(...checkpoint.alerts.filter((alert) => alert.partition === partition));
  owned.savepoints.unshift(...checkpoint.savepoints.filter((savepoint) => savepoint.partition === partition));
}

/**
 * Writes a checkpoint in one transaction: states and offsets (refused with
 * FencedError for a partition whose epoch moved on), the alerts as outbox rows
 * to `alertsTopic`, and the savepoints (kept `savepointRetentionMs`).
 */
export async function writeCheckpoint(
  pool: Pool,
  store: CheckpointStore,
  checkpoint: Checkpoint,
  options: { readonly alertsTopic: string; readonly savepointRetentionMs: number },
): Promise<void> {
  await inTransaction(pool, async (tx) => {
    await store.write(tx, checkpoint.entries);
    await enqueue(
      tx,
      checkpoint.alerts.map((alert) => alertOutboxEvent(alert, options.alertsTopic)),
    );
    await store.savepoint(tx, checkpoint.savepoints, options.savepointRetentionMs);
  });
}
