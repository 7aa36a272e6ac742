import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Message } from 'kafkajs';
import type { Pool } from 'pg';
import { type AdapterLogger, type KafkaRecordPublisher, deadLetterRecord } from '@qls/kafka';
import { type MetricPoint, parseMetricPoint } from '@qls/metrics-contracts';
import {
  Headers,
  type MessagePublisher,
  type OutboundMessage,
  PermanentError,
  errorMessage,
  extractTraceContext,
  injectTraceContext,
} from '@qls/messaging';
import { type OutboxEvent, enqueue, inTransaction } from '@qls/outbox';
import { type AlertTransition, type AlerterOptions, type LateEvent, WindowedAlerter } from '@qls/windowing';
import type { AlerterMetrics } from './alerter.metrics';
import { ALERT_TRANSITION_EVENT, toAlertEvent } from './alert-event';
import { type CheckpointEntry, CheckpointStore, type ClaimedCheckpoint, FencedError } from './checkpoint.store';

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
  /** Windows, watermarks and rules (`@qls/windowing`). */
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

/** A partition this member restored for the current generation. */
interface OwnedPartition {
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

const tracer = trace.getTracer('@qls/metrics-alerter');

/** Savepoints written per checkpoint transaction at most; the rest follow with the next ones. */
const SAVEPOINTS_PER_CHECKPOINT = 16;

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
  /** Reads log start offsets for partitions without a checkpointed offset. */
  private readonly admin: Admin;
  private readonly store: CheckpointStore;
  private readonly alerter: WindowedAlerter;
  private readonly owned = new Map<number, OwnedPartition>();
  /** Partitions refused by a newer epoch in this generation: not re-claimed until the next join. */
  private readonly fenced = new Set<number>();
  private assigned = new Set<number>();
  private generation = 0;
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
      } while (this.checkpointFailures === 0 && [...this.owned.values()].some((owned) => owned.savepoints.length > 0));
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
    this.generation += 1;
    this.assigned = new Set(partitions);
    if (this.fenced.size) this.consumer.resume([{ topic: this.options.topic, partitions: [...this.fenced] }]);
    this.fenced.clear();
    this.options.metrics?.rebalances.inc();
    // State of partitions that went elsewhere is dropped; the others are
    // restored again from their checkpoints for the new generation (below).
    for (const partition of [...this.owned.keys()]) {
      if (!this.assigned.has(partition)) this.drop(partition);
    }
    this.options.logger?.info({ generation: this.generation, partitions }, 'alerter assignment');
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
        if (this.crossesSavepointSlot(owned, message)) this.takeSavepoint(partition, owned);
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

  /** Whether this record moves its partition's event time into a new savepoint slot. */
  private crossesSavepointSlot(owned: OwnedPartition, message: KafkaMessage): boolean {
    const timestamp = Number(message.timestamp);
    const slot = Math.floor(timestamp / this.savepointInterval);
    if (slot <= owned.savepointSlot) return false;
    const first = owned.savepointSlot === Number.NEGATIVE_INFINITY;
    owned.savepointSlot = slot;
    if (first || owned.nextOffset === null) return false;
    owned.dirty = true; // written even if the last checkpoint already holds this state
    return true;
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
    owned.savepoints.push({
      partition,
      epoch: owned.epoch,
      nextOffset: owned.nextOffset as number,
      state: JSON.stringify(this.alerter.snapshot(partition)),
      maxEventTime: owned.maxEventTime,
    });
  }

  /** False when the point was a duplicate of one its windows already took (see `WindowedAlerter.process`). */
  private handleRecord(partition: number, owned: OwnedPartition, message: KafkaMessage): boolean {
    let point: MetricPoint;
    try {
      point = parseMetricPoint(message.value?.toString() ?? '');
    } catch (error) {
      owned.deadLetters.push(
        deadLetterRecord(
          { topic: this.options.topic, partition },
          message,
          new PermanentError('ALERTER.UNREADABLE_RECORD', errorMessage(error)),
        ),
      );
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
      const owned = this.owned.get(event.partition);
      if (!owned) continue;
      owned.late.push(this.lateRecord(event));
      owned.dirty = true;
    }
    if (late.length) this.options.metrics?.records.inc({ outcome: 'late' }, late.length);
    for (const alert of alerts) {
      const owned = this.owned.get(alert.partition);
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
    const owned = this.owned.get(partition);
    if (owned) owned.dirty = true;
  }

  /** Timer: wall-clock watermark advancement for quiet partitions, then the checkpoint. */
  private async tick(): Promise<void> {
    this.collect();
    await this.checkpoint();
  }

  /**
   * Restores a partition on its first batch of a generation. All partitions
   * assigned and not yet restored are claimed in one statement.
   */
  private async restore(partition: number): Promise<OwnedPartition | undefined> {
    const current = this.owned.get(partition);
    if (current?.generation === this.generation) return current;
    if (!this.assigned.has(partition) || this.fenced.has(partition)) return undefined;
    await this.inflight; // its epochs must not race the claim
    const generation = this.generation;
    const pending = [...this.assigned].filter((p) => this.owned.get(p)?.generation !== generation && !this.fenced.has(p));
    const claimed = await this.store.claim(pending);
    const logStart = await this.logStartOffsets(claimed.filter((checkpoint) => checkpoint.nextOffset === null));
    if (generation !== this.generation) return undefined; // a rebalance happened meanwhile; the next batch restores
    for (const checkpoint of claimed) {
      this.alerter.revoke(checkpoint.partition);
      this.alerter.assign(checkpoint.partition, (checkpoint.state ?? undefined) as Parameters<WindowedAlerter['assign']>[1]);
      this.owned.set(checkpoint.partition, {
        generation,
        epoch: checkpoint.epoch,
        nextOffset: checkpoint.nextOffset ?? logStart.get(checkpoint.partition) ?? null,
        maxEventTime: null,
        dirty: false,
        sought: false,
        savepointSlot: Number.NEGATIVE_INFINITY,
        savepoints: [],
        alerts: [],
        late: [],
        deadLetters: [],
      });
      this.options.metrics?.restores.inc({ source: checkpoint.state ? 'checkpoint' : 'fresh' });
    }
    this.options.metrics?.ownedPartitions.set(this.owned.size);
    this.options.logger?.info(
      { generation, partitions: claimed.map((c) => ({ partition: c.partition, epoch: c.epoch, nextOffset: c.nextOffset })) },
      'alerter partitions restored from their checkpoints',
    );
    return this.owned.get(partition);
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
    if (!this.fromBeginning || fresh.length === 0) return new Map();
    const offsets = await this.admin.fetchTopicOffsets(this.options.topic);
    return new Map(offsets.map((p) => [p.partition, Number(p.low)]));
  }

  private drop(partition: number): void {
    this.alerter.revoke(partition);
    this.owned.delete(partition);
    this.options.metrics?.ownedPartitions.set(this.owned.size);
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
    const dirty = [...this.owned.entries()].filter(([, owned]) => owned.dirty && owned.nextOffset !== null);
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
    const entries: CheckpointEntry[] = [];
    const savepoints: CheckpointEntry[] = [];
    const alerts: AlertTransition[] = [];
    let savepointBudget = SAVEPOINTS_PER_CHECKPOINT;
    let bytes = 0;
    for (const [partition, owned] of dirty) {
      const state = JSON.stringify(this.alerter.snapshot(partition));
      bytes += state.length;
      entries.push({ partition, epoch: owned.epoch, nextOffset: owned.nextOffset as number, state, maxEventTime: owned.maxEventTime });
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
    this.options.metrics?.checkpointBytes.set(bytes);
    this.inflight = this.write(entries, alerts, savepoints).finally(() => (this.inflight = undefined));
  }

  private async write(
    entries: readonly CheckpointEntry[],
    alerts: readonly AlertTransition[],
    savepoints: readonly CheckpointEntry[],
  ): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      await inTransaction(this.options.pool, async (tx) => {
        await this.store.write(tx, entries);
        await enqueue(
          tx,
          alerts.map((alert) => this.alertRow(alert)),
        );
        await this.store.savepoint(tx, savepoints, this.options.savepointRetentionMs ?? 86_400_000);
      });
    } catch (error) {
      const fenced = new Set(error instanceof FencedError ? error.partitions : []);
      for (const entry of entries) {
        const owned = this.owned.get(entry.partition);
        if (owned?.epoch !== entry.epoch) continue; // restored again since: the new owner state supersedes
        if (fenced.has(entry.partition)) {
          this.fenced.add(entry.partition);
          this.drop(entry.partition);
        } else {
          // Not written: its state is written again next time, with its alerts.
          owned.dirty = true;
          owned.alerts.unshift(...alerts.filter((alert) => alert.partition === entry.partition));
          owned.savepoints.unshift(...savepoints.filter((savepoint) => savepoint.partition === entry.partition));
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
    for (const alert of alerts) this.options.metrics?.alerts.inc({ status: alert.status, rule: alert.rule });
    this.checkpointFailures = 0;
    this.options.metrics?.checkpointFailures.set(0);
    this.options.metrics?.checkpointSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    await this.commitKafkaOffsets(entries);
  }

  /**
   * The outbox row of an alert transition. Each gets an `alert <status>` span,
   * child of the trace of the point that closed its window, so the trace runs
   * from the ingest request through the alert to its notification.
   */
  private alertRow(alert: AlertTransition): OutboxEvent {
    const parent = alert.context ? extractTraceContext({ traceparent: alert.context }) : ROOT_CONTEXT;
    const span = tracer.startSpan(
      `alert ${alert.status}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: { 'alert.rule': alert.rule, 'alert.fingerprint': alert.fingerprint, 'alert.status': alert.status },
      },
      parent,
    );
    span.end();
    return {
      aggregateType: 'alert',
      aggregateId: alert.fingerprint,
      eventType: ALERT_TRANSITION_EVENT,
      payload: toAlertEvent(alert),
      destination: { kafka: this.options.alertsTopic },
      key: alert.fingerprint,
      headers: injectTraceContext({ [Headers.eventId]: alert.id }, trace.setSpan(parent, span)),
    };
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

  private lateRecord(event: LateEvent): OutboundMessage {
    return {
      key: event.point.serviceId,
      body: JSON.stringify({ schemaVersion: 1, ...event.point }),
      headers: {
        [Headers.errorCode]: 'ALERTER.LATE_EVENT',
        [Headers.errorReason]: `${event.reason}: ${event.lateByMs} ms behind the watermark ${new Date(event.watermark).toISOString()}`,
        [Headers.originalSource]: `${this.options.topic}/${event.partition}/${event.offset ?? ''}`,
        'late-by-ms': String(event.lateByMs),
      },
    };
  }
}
