import type { Consumer } from 'kafkajs';
import type { Counter, Gauge, MetricsRegistry } from '@qls/observability';
import { LAG_STATUSES, type LagEvaluation } from './lag-rules';
import type { LagTarget } from './lag-snapshot';

type TopicLabels = 'group' | 'topic';
type PartitionLabels = 'group' | 'topic' | 'partition';

/**
 * The lag monitor's Prometheus series (apps/ops/stream-ops/alert-rules.yml reads
 * them). Per-partition series of a partition that disappears or has no
 * committed offset are removed, not left at their last value.
 */
export class LagMetrics {
  readonly lag: Gauge<PartitionLabels>;
  readonly lagSeconds: Gauge<PartitionLabels>;
  readonly retentionUsed: Gauge<PartitionLabels>;
  readonly secondsToDataLoss: Gauge<PartitionLabels>;
  readonly catchUpSeconds: Gauge<PartitionLabels>;
  readonly status: Gauge<TopicLabels | 'status'>;
  readonly hotPartition: Gauge<TopicLabels>;
  readonly members: Gauge<'group'>;
  readonly rebalances: Counter<'group'>;
  readonly pollFailures: Counter<TopicLabels>;
  readonly lastPoll: Gauge<TopicLabels>;
  private readonly exported = new Map<string, Set<string>>();

  constructor(registry: MetricsRegistry) {
    const partitionLabels: PartitionLabels[] = ['group', 'topic', 'partition'];
    this.lag = registry.gauge({
      name: 'kafka_consumergroup_lag',
      help: 'Records between the group committed offset and the log end, per partition',
      labelNames: partitionLabels,
    });
    this.lagSeconds = registry.gauge({
      name: 'kafka_consumergroup_lag_seconds',
      help: 'Age of the oldest record the group has not consumed (time lag), per partition; 0 when caught up',
      labelNames: partitionLabels,
    });
    this.retentionUsed = registry.gauge({
      name: 'kafka_consumergroup_retention_used_ratio',
      help: 'Time lag divided by the topic retention.ms: at 1 retention deletes records the group has not read',
      labelNames: partitionLabels,
    });
    this.secondsToDataLoss = registry.gauge({
      name: 'kafka_consumergroup_seconds_to_data_loss',
      help: 'Seconds until retention may delete the oldest unconsumed record (retention minus time lag; 0 once records were lost)',
      labelNames: partitionLabels,
    });
    this.catchUpSeconds = registry.gauge({
      name: 'kafka_consumergroup_catch_up_seconds',
      help: 'Seconds to reach lag 0 at the consume and produce rates of the monitor window; +Inf when lag is not shrinking',
      labelNames: partitionLabels,
    });
    this.status = registry.gauge({
      name: 'kafka_consumergroup_status',
      help: 'Lag status of the group on the topic (OK, WARN, STALL, STOP, REWIND, DATA_LOSS, NOTFOUND): 1 for the current one',
      labelNames: ['group', 'topic', 'status'],
    });
    this.hotPartition = registry.gauge({
      name: 'kafka_consumergroup_hot_partition',
      help: '1 when the largest partition lag is at least hotFactor (default 10) times the mean lag of the other partitions, and above the floor',
      labelNames: ['group', 'topic'],
    });
    this.members = registry.gauge({
      name: 'kafka_consumergroup_members',
      help: 'Live members of the consumer group',
      labelNames: ['group'],
    });
    this.rebalances = registry.counter({
      name: 'kafka_consumergroup_rebalances_total',
      help: 'Rebalances the lag monitor inferred from DescribeGroups (membership changed or a rebalance in progress between two polls); a lower bound',
      labelNames: ['group'],
    });
    this.pollFailures = registry.counter({
      name: 'kafka_lag_monitor_poll_failures_total',
      help: 'Lag polls of a group on a topic that failed (the series keep their last values)',
      labelNames: ['group', 'topic'],
    });
    this.lastPoll = registry.gauge({
      name: 'kafka_lag_monitor_last_poll_timestamp_seconds',
      help: 'When the lag of the group on the topic was last read successfully',
      labelNames: ['group', 'topic'],
    });
  }

  record(evaluation: LagEvaluation): void {
    const { groupId: group, topic } = evaluation;
    const key = `${group}\u0000${topic}`;
    const previous = this.exported.get(key) ?? new Set<string>();
    const current = new Set<string>();
    for (const p of evaluation.partitions) {
      const labels = { group, topic, partition: String(p.partition) };
      if (p.lag === null) continue;
      current.add(labels.partition);
      this.lag.set(labels, p.lag);
      setOrRemove(this.lagSeconds, labels, p.timeLagSeconds);
      setOrRemove(this.retentionUsed, labels, p.retentionUsedRatio);
      setOrRemove(this.secondsToDataLoss, labels, p.secondsToDataLoss);
      setOrRemove(this.catchUpSeconds, labels, p.catchUpSeconds);
    }
    for (const partition of previous) {
      if (current.has(partition)) continue;
      const labels = { group, topic, partition };
      for (const gauge of [this.lag, this.lagSeconds, this.retentionUsed, this.secondsToDataLoss, this.catchUpSeconds])
        gauge.remove(labels);
    }
    this.exported.set(key, current);
    for (const status of LAG_STATUSES) this.status.set({ group, topic, status }, status === evaluation.status ? 1 : 0);
    this.hotPartition.set({ group, topic }, evaluation.hotPartition ? 1 : 0);
    this.members.set({ group }, evaluation.group.members);
    this.lastPoll.set({ group, topic }, evaluation.at / 1_000);
  }

  recordFailure(target: LagTarget): void {
    this.pollFailures.inc({ group: target.groupId, topic: target.topic });
  }
}

function setOrRemove(gauge: Gauge<PartitionLabels>, labels: Record<PartitionLabels, string>, value: number | null): void {
  if (value === null) gauge.remove(labels);
  else gauge.set(labels, value);
}

/**
 * Counts this consumer's group joins in `kafka_consumer_rebalances_total{group}`.
 * Every rebalance makes every member join again, so per process it counts the
 * rebalances this member took part in (its first join included); across
 * replicas, `max by (group)` is the group's rebalance count. The chapter's
 * alert: more than one per hour. Returns the function that detaches it.
 */
export function countRebalances(consumer: Consumer, registry: MetricsRegistry): () => void {
  const joins = registry.counter({
    name: 'kafka_consumer_rebalances_total',
    help: 'Consumer group joins (rebalances) of this consumer',
    labelNames: ['group'],
  });
  return consumer.on(consumer.events.GROUP_JOIN, (event) => joins.inc({ group: event.payload.groupId }));
}
