import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Pool } from 'pg';
import type { AdapterLogger, KafkaRecordPublisher } from '@qls/kafka';
import { type MetricPoint, parseMetricPoint } from '@qls/metrics-contracts';
import { type MessagePublisher, errorMessage } from '@qls/messaging';
import { type AlerterOptions, WindowedAlerter } from '@qls/metrics-windowing';
import {
  type Checkpoint,
  type OwnedPartition,
  checkpointEntry,
  crossesSavepointSlot,
  putBack,
  takeCheckpoint,
  writeCheckpoint,
} from './alerter.checkpoint';
import type { AlerterMetrics } from './alerter.metrics';
import { lateRecord, unreadableRecord } from './alerter.outputs';
import { AlerterPartitions } from './alerter.partitions';
import { type CheckpointEntry, CheckpointStore, FencedError } from './checkpoint.store';

export interface AlerterRunnerOptions {
  readonly kafka: Kafka;
  readonly pool: Pool;
  /** Consumer group; also names the checkpoints. */
  readonly groupId: string;
  /** Input topic of metric points (`metrics-raw`). */
  readonly topic: string;
  /** Side output for points later than the allowed lateness (`metrics-late`). */
  readonly lateTopic: string;
  /** Where unreadable records go, byte for byte with the reason in headers (a reference when too large). */
  readonly deadLetterTopic: string;
  /** Where alert transitions are published (through the outbox). */
  readonly alertsTopic: string;
  /** Windows, watermarks and rules (`@qls/metrics-windowing`). */
  readonly alerter: AlerterOptions;
  /** Publishes late and dead-lettered records, in produce calls the broker accepts. */
  readonly publisher: MessagePublisher & KafkaRecordPublisher;
  /**
   * Consecutive failed checkpoints (side outputs not published, or the
   * transaction failed) after which {@link AlerterRunner.readiness} fails.
   * @defaultValue 3
   */
  readonly unreadyAfterCheckpointFailures?: number;
  /**
   * How often state, offsets and alerts are committed together. Alerts reach
   * the outbox at most this late; a crash re-reads at most this much.
   * @defaultValue 200
   */
  readonly checkpointIntervalMs?: number;
  /**
   * A copy of the checkpoint is kept each time a partition's record
   * timestamps (what a replay's offsets-by-timestamp go by) cross a multiple
   * of this, so a replay to any time finds state from just before it — also
   * after a catch-up that read hours in seconds. @defaultValue 60 s
   */
  readonly savepointIntervalMs?: number;
  /** How long savepoints are kept (how far back a replay can rewind state). @defaultValue 24 h */
  readonly savepointRetentionMs?: number;
  /**
   * Where a partition without a checkpointed offset starts: at the earliest
   * record retention kept (true), or at the records that arrive after it is
   * first assigned (false). The alerter's job is completeness — a service whose
   * first points arrive while it is down must still alert — so true.
   * @defaultValue true
   */
  readonly fromBeginning?: boolean;
  readonly sessionTimeoutMs?: number;
  readonly metrics?: AlerterMetrics;
  readonly logger?: AdapterLogger;
}

/**
 * Runs a {@link WindowedAlerter} as a Kafka consumer-group member with its
 * state and offsets checkpointed together in Postgres (ADR 0008):
 *
 * - on each assignment a partition claims a new epoch (the fencing token),
 *   restores its state and skips or seeks to the checkpointed offset, so it
 *   resumes exactly where the state says — Kafka's committed offset is only a
 *   hint for the lag monitor;
 * - every `checkpointIntervalMs` one transaction writes each partition's state
 *   and next offset and the alerts it produced (outbox rows), refused for a
 *   partition whose epoch moved on (a stale member);
 * - late records go to the side output and unreadable ones to the dead-letter
 *   topic before that transaction commits, so none is lost (a crash may
 *   publish them twice; their headers name the source offset).
 *
 * A crash or rebalance therefore neither loses nor double-counts: whatever was
 * processed after the last checkpoint is processed again from the same state.
 */
export class AlerterRunner {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly store: CheckpointStore;
  private readonly alerter: WindowedAlerter;
  private readonly partitions: AlerterPartitions;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private checkpointFailures = 0;
  /** The checkpoint being written, if any. */
  private inflight: Promise<void> | undefined;

  constructor(private readonly options: AlerterRunnerOptions) {
    this.store = new CheckpointStore(options.pool, options.groupId, options.topic);
    this.alerter = new WindowedAlerter(options.alerter);
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      ...(options.sessionTimeoutMs ? { sessionTimeout: options.sessionTimeoutMs } : {}),
    });
    this.admin = options.kafka.admin();
    this.partitions = new AlerterPartitions({
      topic: options.topic,
      fromBeginning: this.fromBeginning,
      alerter: this.alerter,
      store: this.store,
      consumer: this.consumer,
      admin: this.admin,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => this.onJoin(payload.memberAssignment[options.topic] ?? []));
  }

  async start(): Promise<void> {
    await this.admin.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.options.topic], fromBeginning: this.fromBeginning });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.serial(() => this.handleBatch(payload)),
    });
    const interval = this.options.checkpointIntervalMs ?? 200;
    this.timer = setInterval(() => void this.serial(() => this.tick()), interval);
  }

  /** Stops fetching, checkpoints what was processed, leaves the group. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.consumer.stop();
    await this.serial(async () => {
      await this.inflight;
      do {
        await this.checkpoint();
        await this.inflight;
      } while (this.checkpointFailures === 0 && this.partitions.entries().some(([, owned]) => owned.savepoints.length > 0));
    });
    await this.consumer.disconnect();
    await this.admin.disconnect();
  }

  private get fromBeginning(): boolean {
    return this.options.fromBeginning ?? true;
  }

  /**
   * A readiness check (ObservabilityModule): fails while checkpoints keep
   * failing — `unreadyAfterCheckpointFailures` in a row — since nothing this
   * member processes is committed meanwhile (its lag grows, its alerts wait).
   */
  readiness(): { readonly name: string; check(): Promise<void> } {
    const limit = this.options.unreadyAfterCheckpointFailures ?? 3;
    return {
      name: 'alerter-checkpoint',
      check: async () => {
        if (this.checkpointFailures >= limit) {
          throw new Error(`the last ${this.checkpointFailures} checkpoints failed: nothing processed since is committed`);
        }
      },
    };
  }

  private checkpointFailed(): void {
    this.checkpointFailures += 1;
    this.options.metrics?.checkpointFailures.set(this.checkpointFailures);
  }

  /** Global event-time watermark of this member (ms). */
  watermark(): number {
    return this.alerter.watermark();
  }

  private get savepointInterval(): number {
    return this.options.savepointIntervalMs ?? 60_000;
  }

  /** Batches, ticks and checkpoints never interleave: they share the alerter. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private onJoin(partitions: readonly number[]): void {
    this.partitions.join(partitions);
    // Restore every assigned partition now, not on its first record: a quiet
    // partition's open windows and absence deadlines must still close and
    // fire (wall-clock advancement) after a restart.
    const [first] = partitions;
    if (first !== undefined) {
      this.serial(() => this.restore(first)).catch((error: unknown) =>
        this.options.logger?.error({ err: errorMessage(error) }, 'restoring the assigned partitions failed; retried on their first batch'),
      );
    }
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { partition } = batch;
    const owned = await this.restore(partition);
    if (!owned) return;
    const first = batch.firstOffset();
    if (owned.nextOffset !== null && first !== null && Number(first) > owned.nextOffset) {
      if (!owned.sought) {
        // Kafka is ahead of the checkpoint (offsets moved without rewinding state): go back to it.
        owned.sought = true;
        this.consumer.seek({ topic: this.options.topic, partition, offset: String(owned.nextOffset) });
        return;
      }
      // Still ahead after seeking: retention deleted records the checkpoint had not read yet.
      this.options.logger?.error(
        { partition, checkpointOffset: owned.nextOffset, firstAvailable: first },
        'records between the checkpoint and the log start were deleted by retention before the alerter read them',
      );
      owned.nextOffset = Number(first);
    }
    let skipped = 0;
    let processed = 0;
    let duplicates = 0;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      const offset = Number(message.offset);
      if (owned.nextOffset === null || offset >= owned.nextOffset) {
        if (crossesSavepointSlot(owned, Number(message.timestamp), this.savepointInterval)) this.takeSavepoint(partition, owned);
        if (!this.handleRecord(partition, owned, message)) duplicates += 1;
        owned.nextOffset = offset + 1;
        owned.dirty = true;
        processed += 1;
      } else {
        skipped += 1; // already in the checkpointed state
      }
      resolveOffset(message.offset);
    }
    if (processed) this.options.metrics?.records.inc({ outcome: 'processed' }, processed - duplicates);
    if (duplicates) this.options.metrics?.records.inc({ outcome: 'duplicate' }, duplicates);
    if (skipped) this.options.metrics?.records.inc({ outcome: 'skipped_replayed' }, skipped);
    this.collect();
    if (this.checkpointFailures > 0) await this.backOff(heartbeat);
  }

  /**
   * Keeps this partition's state before the record at hand as a savepoint,
   * written with the next checkpoint (in its transaction, so a fenced member
   * writes none). Not awaited: a backlog crosses a slot every few thousand
   * records, and waiting for a write each time cost the alerter ×4 in
   * throughput. A crash before that write loses the savepoint; a replay then
   * rewinds to an earlier one and reads a little more.
   */
  private takeSavepoint(partition: number, owned: OwnedPartition): void {
    this.collect();
    owned.savepoints.push(checkpointEntry(partition, owned, JSON.stringify(this.alerter.snapshot(partition))));
  }

  /** False when the point was a duplicate of one its windows already took (see `WindowedAlerter.process`). */
  private handleRecord(partition: number, owned: OwnedPartition, message: KafkaMessage): boolean {
    let point: MetricPoint;
    try {
      point = parseMetricPoint(message.value?.toString() ?? '');
    } catch (error) {
      owned.deadLetters.push(unreadableRecord({ topic: this.options.topic, partition }, message, error));
      this.options.metrics?.records.inc({ outcome: 'dead_lettered' });
      return true;
    }
    if (owned.maxEventTime === null || point.timestamp > owned.maxEventTime) owned.maxEventTime = point.timestamp;
    const traceparent = message.headers?.['traceparent']?.toString();
    return this.alerter.process(
      partition,
      point,
      traceparent ? { offset: message.offset, context: traceparent } : { offset: message.offset },
    );
  }

  /** Advances the watermark, closes windows, and files the outputs under their partitions. */
  private collect(): void {
    this.alerter.advance();
    const { windows, late, alerts } = this.alerter.drain();
    for (const result of windows) this.markDirty(result.partition);
    for (const event of late) {
      const owned = this.partitions.get(event.partition);
      if (!owned) continue;
      owned.late.push(lateRecord(event, this.options.topic));
      owned.dirty = true;
    }
    if (late.length) this.options.metrics?.records.inc({ outcome: 'late' }, late.length);
    for (const alert of alerts) {
      const owned = this.partitions.get(alert.partition);
      if (!owned) continue;
      owned.alerts.push(alert);
      owned.dirty = true;
    }
    const { watermarkDelay, openWindows, series } = this.options.metrics ?? {};
    const stats = this.alerter.stats();
    openWindows?.set(stats.openWindows);
    series?.set(stats.series);
    const watermark = this.alerter.watermark();
    if (Number.isFinite(watermark)) watermarkDelay?.set((Date.now() - watermark) / 1_000);
  }

  private markDirty(partition: number): void {
    const owned = this.partitions.get(partition);
    if (owned) owned.dirty = true;
  }

  /** Timer: wall-clock watermark advancement for quiet partitions, then the checkpoint. */
  private async tick(): Promise<void> {
    this.collect();
    await this.checkpoint();
  }

  /** The partition's state for this generation, claimed and restored on its first batch (see {@link AlerterPartitions.restore}). */
  private restore(partition: number): Promise<OwnedPartition | undefined> {
    return this.partitions.restore(partition, () => this.inflight);
  }

  /**
   * Takes a checkpoint of every dirty partition — state snapshot, next
   * offset, the alerts produced since the last one — and writes it in one
   * transaction in the background, while records keep flowing (the snapshot
   * is a string by then). One write at a time; side outputs are published
   * before the state that skipped them can commit.
   */
  private async checkpoint(): Promise<void> {
    if (this.inflight) return; // the next tick takes the next one
    const dirty = this.partitions.entries().filter(([, owned]) => owned.dirty && owned.nextOffset !== null);
    if (dirty.length === 0) return;
    try {
      await this.options.publisher.publish(
        this.options.lateTopic,
        dirty.flatMap(([, owned]) => owned.late),
      );
      await this.options.publisher.publishRecords(
        this.options.deadLetterTopic,
        dirty.flatMap(([, owned]) => owned.deadLetters),
      );
    } catch (error) {
      this.checkpointFailed();
      this.options.logger?.error(
        { err: errorMessage(error), failures: this.checkpointFailures },
        'publishing side outputs failed; the checkpoint waits',
      );
      return;
    }
    const checkpoint = takeCheckpoint(dirty, (partition) => JSON.stringify(this.alerter.snapshot(partition)));
    this.options.metrics?.checkpointBytes.set(checkpoint.bytes);
    this.inflight = this.write(checkpoint).finally(() => (this.inflight = undefined));
  }

  private async write(checkpoint: Checkpoint): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      await writeCheckpoint(this.options.pool, this.store, checkpoint, {
        alertsTopic: this.options.alertsTopic,
        savepointRetentionMs: this.options.savepointRetentionMs ?? 86_400_000,
      });
    } catch (error) {
      const fenced = new Set(error instanceof FencedError ? error.partitions : []);
      for (const entry of checkpoint.entries) {
        const owned = this.partitions.get(entry.partition);
        if (owned?.epoch !== entry.epoch) continue; // restored again since: the new owner state supersedes
        if (fenced.has(entry.partition)) {
          this.partitions.fence(entry.partition);
        } else {
          putBack(owned, checkpoint, entry.partition); // its state is written again next time, with its alerts
        }
      }
      if (fenced.size) {
        this.options.metrics?.fenced.inc();
        this.options.logger?.warn({ partitions: [...fenced] }, (error as Error).message);
        // Stale member: stop fetching them until the group gives us a new assignment.
        this.consumer.pause([{ topic: this.options.topic, partitions: [...fenced] }]);
      } else {
        this.checkpointFailed();
        this.options.logger?.error(
          { err: errorMessage(error), failures: this.checkpointFailures },
          'alerter checkpoint failed; will retry',
        );
      }
      return;
    }
    for (const alert of checkpoint.alerts) this.options.metrics?.alerts.inc({ status: alert.status, rule: alert.rule });
    this.checkpointFailures = 0;
    this.options.metrics?.checkpointFailures.set(0);
    this.options.metrics?.checkpointSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    await this.commitKafkaOffsets(checkpoint.entries);
  }

  /** Kafka's committed offsets follow the checkpoints, for lag monitoring; Postgres stays the truth. */
  private async commitKafkaOffsets(entries: readonly CheckpointEntry[]): Promise<void> {
    try {
      await this.consumer.commitOffsets(
        entries.map((e) => ({ topic: this.options.topic, partition: e.partition, offset: String(e.nextOffset) })),
      );
    } catch (error) {
      this.options.logger?.debug({ err: errorMessage(error) }, 'committing offsets to Kafka failed (a rebalance?); the checkpoint stands');
    }
  }

  /** While checkpoints fail (Postgres down), hold the partition instead of piling up state: lag shows it. */
  private async backOff(heartbeat: () => Promise<void>): Promise<void> {
    const delay = Math.min(5_000, 100 * 2 ** Math.min(this.checkpointFailures, 6));
    await new Promise((resolve) => setTimeout(resolve, delay));
    await heartbeat();
    await this.inflight;
    await this.checkpoint();
  }
}
