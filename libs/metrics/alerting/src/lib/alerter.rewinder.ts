import type { Pool } from 'pg';
import { CheckpointStore, type RewindTarget } from './checkpoint.store';

export interface AlerterRewindPlan {
  readonly groupId: string;
  readonly topic: string;
  readonly timestamp: number;
  /** Per partition: where a plain offset reset would go, and the saved state the alerter restarts from instead. */
  readonly partitions: readonly RewindTarget[];
}

/** The offsets a reset to a timestamp would move the group to (a `ResetPlan` of @qls/kafka fits). */
export interface OffsetTargets {
  readonly partitions: readonly { readonly partition: number; readonly to: string | number }[];
}

/**
 * Replay for the windowed alerter (chapter "Replay Scenario"): resetting its
 * offsets alone would feed old records into newer state and double-count.
 * Each partition instead goes back to the newest state saved at or before the
 * offset of the timestamp — a savepoint, or the current checkpoint when the
 * group is already behind that offset — and re-reads from there, so state and
 * position come from the same moment. Alerts re-evaluated on the way keep
 * their ids (fingerprint:activeAt:status): their notifications are not sent
 * twice.
 *
 * It is the `alerting` group's state rewinder of the replay service
 * (apps/ops/stream-ops), which refuses while the group has live members, calls
 * {@link plan} for the dry run and {@link apply} before it moves Kafka's
 * offsets to the restart offsets `apply` returns. If moving the offsets
 * fails after the rewind, the alerter still restarts from its checkpoint (it
 * seeks back to it when Kafka is ahead): a half-done replay is never
 * inconsistent.
 */
export class AlerterRewinder {
  constructor(private readonly pool: Pool) {}

  /** The dry run. */
  async plan(groupId: string, topic: string, timestamp: number, targets: OffsetTargets): Promise<AlerterRewindPlan> {
    const store = new CheckpointStore(this.pool, groupId, topic);
    const partitions = await store.planRewind(targets.partitions.map(({ partition, to }) => ({ partition, offset: Number(to) })));
    return { groupId, topic, timestamp, partitions };
  }

  /** Rewinds the checkpoints as planned (the dry run's plan, or a fresh one); returns where each partition restarts. */
  async apply(
    groupId: string,
    topic: string,
    timestamp: number,
    targets: OffsetTargets,
    planned?: unknown,
  ): Promise<{ partition: number; offset: number }[]> {
    const plan = isPlanFor(planned, groupId, topic) ? planned : await this.plan(groupId, topic, timestamp, targets);
    return new CheckpointStore(this.pool, groupId, topic).applyRewind(plan.partitions);
  }
}

function isPlanFor(value: unknown, groupId: string, topic: string): value is AlerterRewindPlan {
  const plan = value as Partial<AlerterRewindPlan> | undefined;
  return plan?.groupId === groupId && plan.topic === topic && Array.isArray(plan.partitions);
}
