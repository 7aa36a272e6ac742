import type { Admin, Consumer } from 'kafkajs';
import type { AdapterLogger } from '@qls/kafka';
import type { WindowedAlerter } from '@qls/metrics-windowing';
import { type OwnedPartition, ownedPartition } from './alerter.checkpoint';
import type { AlerterMetrics } from './alerter.metrics';
import type { CheckpointStore, ClaimedCheckpoint } from './checkpoint.store';

/** What {@link AlerterPartitions} works with: the runner's input topic, alerter, checkpoints and Kafka clients. */
export interface AlerterPartitionsOptions {
  readonly topic: string;
  /** See `AlerterRunnerOptions.fromBeginning`. */
  readonly fromBeginning: boolean;
  readonly alerter: WindowedAlerter;
  readonly store: CheckpointStore;
  readonly consumer: Consumer;
  /** Reads log start offsets for partitions without a checkpointed offset. */
  readonly admin: Admin;
  readonly metrics?: AlerterMetrics;
  readonly logger?: AdapterLogger;
}

/**
 * The partitions this member owns, and under which epoch (ADR 0008). Each
 * group join starts a generation; an assigned partition then claims a new
 * epoch (the fencing token) and restores its checkpointed state into the
 * alerter. A partition whose checkpoint a newer epoch refused is fenced: not
 * claimed again until the next join.
 */
export class AlerterPartitions {
  private readonly owned = new Map<number, OwnedPartition>();
  /** Partitions refused by a newer epoch in this generation: not re-claimed until the next join. */
  private readonly fenced = new Set<number>();
  private assigned = new Set<number>();
  private generation = 0;

  constructor(private readonly options: AlerterPartitionsOptions) {}

  get(partition: number): OwnedPartition | undefined {
    return this.owned.get(partition);
  }

  /** Every owned partition with its number. */
  entries(): [number, OwnedPartition][] {
    return [...this.owned.entries()];
  }

  /** A new assignment: a new generation; the fenced partitions are fetched again, those that went elsewhere dropped. */
  join(partitions: readonly number[]): void {
    const { topic, consumer, metrics, logger } = this.options;
    this.generation += 1;
    this.assigned = new Set(partitions);
    if (this.fenced.size) consumer.resume([{ topic, partitions: [...this.fenced] }]);
    this.fenced.clear();
    metrics?.rebalances.inc();
    // State of partitions that went elsewhere is dropped; the others are
    // restored again from their checkpoints for the new generation.
    for (const partition of [...this.owned.keys()]) {
      if (!this.assigned.has(partition)) this.drop(partition);
    }
    logger?.info({ generation: this.generation, partitions }, 'alerter assignment');
  }

  /**
   * Restores a partition on its first batch of a generation. All partitions
   * assigned and not yet restored are claimed in one statement, once the
   * checkpoint being written (`inflight`) has settled: its epochs must not race
   * the claim. Undefined for a partition not assigned, fenced, or reassigned
   * meanwhile.
   */
  async restore(partition: number, inflight: () => Promise<void> | undefined): Promise<OwnedPartition | undefined> {
    const { alerter, store, metrics, logger } = this.options;
    const current = this.owned.get(partition);
    if (current?.generation === this.generation) return current;
    if (!this.assigned.has(partition) || this.fenced.has(partition)) return undefined;
    await inflight();
    const generation = this.generation;
    const pending = [...this.assigned].filter((p) => this.owned.get(p)?.generation !== generation && !this.fenced.has(p));
    const claimed = await store.claim(pending);
    const logStart = await this.logStartOffsets(claimed.filter((checkpoint) => checkpoint.nextOffset === null));
    if (generation !== this.generation) return undefined; // a rebalance happened meanwhile; the next batch restores
    for (const checkpoint of claimed) {
      alerter.revoke(checkpoint.partition);
      alerter.assign(checkpoint.partition, (checkpoint.state ?? undefined) as Parameters<WindowedAlerter['assign']>[1]);
      this.owned.set(
        checkpoint.partition,
        ownedPartition(generation, checkpoint.epoch, checkpoint.nextOffset ?? logStart.get(checkpoint.partition) ?? null),
      );
      metrics?.restores.inc({ source: checkpoint.state ? 'checkpoint' : 'fresh' });
    }
    metrics?.ownedPartitions.set(this.owned.size);
    logger?.info(
      { generation, partitions: claimed.map((c) => ({ partition: c.partition, epoch: c.epoch, nextOffset: c.nextOffset })) },
      'alerter partitions restored from their checkpoints',
    );
    return this.owned.get(partition);
  }

  /** A newer epoch refused this partition's checkpoint: its state is dropped and it is not claimed again in this generation. */
  fence(partition: number): void {
    this.fenced.add(partition);
    this.drop(partition);
  }

  /**
   * Where partitions that have no checkpointed offset start, with
   * `fromBeginning`: the log start offset, so the first batch seeks there
   * whatever Kafka's committed offset or kafkajs's default says (those apply
   * only without a committed offset, and a fetch that ran before the claim may
   * already be past the start). Without `fromBeginning`: nothing (kafkajs's
   * position, the log end when nothing was committed).
   */
  private async logStartOffsets(fresh: readonly ClaimedCheckpoint[]): Promise<Map<number, number>> {
    if (!this.options.fromBeginning || fresh.length === 0) return new Map();
    const offsets = await this.options.admin.fetchTopicOffsets(this.options.topic);
    return new Map(offsets.map((p) => [p.partition, Number(p.low)]));
  }

  private drop(partition: number): void {
    this.options.alerter.revoke(partition);
    this.owned.delete(partition);
    this.options.metrics?.ownedPartitions.set(this.owned.size);
  }
}
