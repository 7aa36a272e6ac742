import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { type AdapterLogger, countRebalances } from '@qls/kafka';
import { errorMessage } from '@qls/messaging';
import { type MetricPoint, parseMetricPoint } from '@qls/metrics-contracts';
import type { MetricsRegistry, ReadinessCheck } from '@qls/observability';
import type { DashboardMetrics } from './dashboard.metrics';
import type { LiveSeriesView } from './live-series.view';

export interface MetricsDashboardConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  readonly view: LiveSeriesView;
  readonly metrics: DashboardMetrics;
  /** Where the consumer's rebalances are counted (`kafka_consumer_rebalances_total`, see countRebalances). */
  readonly registry: MetricsRegistry;
  readonly logger?: AdapterLogger;
  readonly sessionTimeoutMs?: number;
  /**
   * Longest a fetch waits for records when there are none. Also bounds how long `stop()` waits for an idle fetch.
   * @defaultValue 500
   */
  readonly maxWaitTimeMs?: number;
}

type InvalidReason = 'not-json' | 'schema';

/**
 * The `dashboard` consumer group on `metrics-raw` (beside `storage` and
 * `alerting`, each reading the whole log on its own): every record is parsed
 * and added to the {@link LiveSeriesView}.
 *
 * - **Starts at the latest offsets.** Every partition this member is given
 *   (at start, and any it takes over in a rebalance) is paused, moved to its
 *   latest offset, then resumed; a new group also starts there
 *   (`fromBeginning: false`). The view lives in memory, so a partition that
 *   moves (a restart, a rebalance) starts empty on its new owner anyway:
 *   reading its backlog would only delay showing now, and most of it would be
 *   out of the window. The view re-fills within one window.
 * - **Offsets are auto-committed** (kafkajs' interval): they only keep the
 *   group's lag visible; losing them costs nothing.
 * - **A bad record is counted and skipped**, never retried: a dashboard must
 *   not stall its partition on one (storage and the alerter dead-letter such
 *   records; the dashboard has nothing to add to that).
 * - Consumer rebalances are counted with countRebalances.
 */
export class MetricsDashboardConsumer {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private detachRebalances: (() => void) | undefined;
  /** Partitions of the current assignment. */
  private owned = new Set<number>();
  private joined = false;
  /** Assignments whose partitions are still being moved to their latest offsets. */
  private positioning = 0;

  constructor(private readonly options: MetricsDashboardConsumerOptions) {}

  /** Joins the group and starts consuming; resolves once it has joined. */
  async start(): Promise<void> {
    if (this.consumer) return;
    const { kafka, groupId, topic, sessionTimeoutMs, logger } = this.options;
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 500,
      ...(sessionTimeoutMs ? { sessionTimeout: sessionTimeoutMs } : {}),
    });
    const admin = kafka.admin();
    this.consumer = consumer;
    this.admin = admin;
    this.owned = new Set();
    this.joined = false;
    const detachJoin = consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      this.onJoin(consumer, admin, payload.memberAssignment[topic] ?? []),
    );
    const detachCrash = consumer.on(consumer.events.CRASH, ({ payload }) =>
      logger?.error({ groupId, err: errorMessage(payload.error), restart: payload.restart }, 'dashboard consumer crashed'),
    );
    const detachRebalances = countRebalances(consumer, this.options.registry);
    this.detachRebalances = () => {
      detachJoin();
      detachCrash();
      detachRebalances();
    };
    try {
      await admin.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: false });
      await consumer.run({
        autoCommit: true,
        eachBatch: async (payload) => this.handleBatch(payload),
      });
    } catch (error) {
      await this.stop().catch(() => undefined);
      throw error;
    }
  }

  /** Leaves the group (the batch in progress, all in memory, finishes first) and closes the connections. */
  async stop(): Promise<void> {
    const { consumer, admin } = this;
    this.consumer = undefined;
    this.admin = undefined;
    this.detachRebalances?.();
    this.detachRebalances = undefined;
    await consumer?.disconnect();
    await admin?.disconnect();
  }

  /**
   * `consumer`: ready once the consumer has joined its group and moved the
   * partitions it was given to their latest offsets (brief, after each
   * rebalance). Pair it with libs/platform/kafka's kafkaTopicsReadiness for the brokers and the topic.
   */
  readonly readiness: ReadinessCheck = {
    name: 'consumer',
    check: async () => {
      if (this.consumer === undefined) throw new Error('the consumer is not running');
      if (!this.joined) throw new Error(`not yet a member of group ${this.options.groupId}`);
      if (this.positioning > 0) throw new Error('moving newly assigned partitions to their latest offsets');
    },
  };

  private onJoin(consumer: Consumer, admin: Admin, partitions: readonly number[]): void {
    const fresh = partitions.filter((partition) => !this.owned.has(partition));
    this.owned = new Set(partitions);
    this.joined = true;
    this.options.logger?.info({ groupId: this.options.groupId, partitions, fresh }, 'dashboard assignment');
    if (fresh.length === 0) return;
    // Paused here, synchronously, before kafkajs fetches from the committed offsets.
    const topicPartitions = [{ topic: this.options.topic, partitions: fresh }];
    consumer.pause(topicPartitions);
    this.positioning += 1;
    void this.toLatest(consumer, admin, fresh).finally(() => {
      this.positioning -= 1;
      try {
        consumer.resume(topicPartitions);
      } catch {
        // stopped meanwhile
      }
    });
  }

  private async toLatest(consumer: Consumer, admin: Admin, partitions: readonly number[]): Promise<void> {
    const { topic, logger } = this.options;
    try {
      const latest = new Map((await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => [partition, high]));
      for (const partition of partitions) {
        const offset = latest.get(partition);
        if (offset !== undefined) consumer.seek({ topic, partition, offset });
      }
    } catch (error) {
      if (this.consumer !== consumer) return; // stopped meanwhile
      logger?.warn(
        { topic, partitions, err: errorMessage(error) },
        'could not read the latest offsets; these partitions resume from their committed offsets (old points are dropped as late)',
      );
    }
  }

  private async handleBatch({ batch, heartbeat }: EachBatchPayload): Promise<void> {
    const { view, metrics, logger } = this.options;
    const { messages } = batch;
    metrics.recordsConsumed.inc(messages.length);
    const invalid: Record<InvalidReason, number> = { 'not-json': 0, schema: 0 };
    const outside = { late: 0, future: 0, duplicate: 0 };
    let firstInvalid: { offset: string; reason: string } | undefined;
    for (const message of messages) {
      let point: MetricPoint;
      try {
        point = parseMetricPoint(message.value?.toString() ?? '');
      } catch (error) {
        invalid[error instanceof SyntaxError ? 'not-json' : 'schema'] += 1;
        firstInvalid ??= { offset: message.offset, reason: errorMessage(error).slice(0, 500) };
        continue;
      }
      const outcome = view.add(point);
      if (outcome !== 'added') outside[outcome] += 1;
    }
    for (const reason of ['not-json', 'schema'] as const) if (invalid[reason]) metrics.recordsInvalid.inc({ reason }, invalid[reason]);
    for (const reason of ['late', 'future'] as const) if (outside[reason]) metrics.pointsOutsideWindow.inc({ reason }, outside[reason]);
    if (outside.duplicate) metrics.pointsDuplicate.inc(outside.duplicate);
    if (firstInvalid) {
      logger?.warn(
        { topic: batch.topic, partition: batch.partition, count: invalid['not-json'] + invalid.schema, first: firstInvalid },
        'invalid records skipped',
      );
    }
    await heartbeat();
  }
}
