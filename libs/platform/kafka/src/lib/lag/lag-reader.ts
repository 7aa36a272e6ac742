import { type Admin, AssignerProtocol, ConfigResourceTypes, type GroupDescription, type Kafka } from 'kafkajs';
import { PermanentError } from '@qls/messaging';
import { LazyConnection } from '../lazy-connection';
import { type GroupLagSnapshot, type LagTarget, type PartitionOffsets, partitionLag } from './lag-snapshot';
import { RecordTimestamps } from './record-timestamps';

export interface KafkaLagReaderOptions {
  /**
   * Read the timestamp of the oldest unconsumed record of each lagging
   * partition (time lag). Off, `timeLagSeconds` is null wherever lag > 0.
   * @defaultValue true
   */
  readonly timeLag?: boolean;
  /** @defaultValue Date.now */
  readonly now?: () => number;
}

/** The result of reading several targets: one failure does not hide the others. */
export interface LagReadResult {
  readonly snapshots: readonly GroupLagSnapshot[];
  readonly failures: readonly { readonly target: LagTarget; readonly error: unknown }[];
}

/** Anything that reads lag snapshots (the Kafka reader; a fake in unit tests). */
export interface LagSource {
  readAll(targets: readonly LagTarget[]): Promise<LagReadResult>;
}

interface TopicFacts {
  readonly offsets: Map<number, { low: number; high: number }>;
  readonly retentionMs: number | null;
}

const REBALANCING = new Set(['PreparingRebalance', 'CompletingRebalance']);

/**
 * Reads a consumer group's position on a topic from the brokers, the way an
 * external lag monitor (Burrow, kafka-consumer-groups) does: committed offsets
 * (OffsetFetch), log start and end (ListOffsets), `retention.ms`
 * (DescribeConfigs), members and their assignments (DescribeGroups), and the
 * timestamp of the oldest unconsumed record ({@link RecordTimestamps}).
 *
 * Reading several targets shares the per-topic and per-group requests.
 */
export class KafkaLagReader implements LagSource {
  private readonly admin: Admin;
  private readonly timestamps: RecordTimestamps | undefined;
  private readonly now: () => number;
  private readonly connection: LazyConnection;

  constructor(kafka: Kafka, options: KafkaLagReaderOptions = {}) {
    this.admin = kafka.admin();
    this.connection = new LazyConnection(() => this.admin.connect());
    this.timestamps = (options.timeLag ?? true) ? new RecordTimestamps(kafka) : undefined;
    this.now = options.now ?? Date.now;
  }

  /** One target; throws when it cannot be read (unknown topic: `KAFKA.TOPIC_NOT_FOUND`). */
  async read(groupId: string, topic: string): Promise<GroupLagSnapshot> {
    const { snapshots, failures } = await this.readAll([{ groupId, topic }]);
    if (failures[0]) throw failures[0].error;
    const snapshot = snapshots[0];
    if (!snapshot) throw new Error(`no lag snapshot for ${groupId} on ${topic}`);
    return snapshot;
  }

  async readAll(targets: readonly LagTarget[]): Promise<LagReadResult> {
    const admin = await this.ready();
    const existing = new Set(await admin.listTopics());
    const failures: { target: LagTarget; error: unknown }[] = [];
    const readable = targets.filter((target) => {
      if (existing.has(target.topic)) return true;
      failures.push({
        target,
        error: new PermanentError('KAFKA.TOPIC_NOT_FOUND', `topic ${target.topic} does not exist`, { context: { ...target } }),
      });
      return false;
    });
    if (readable.length === 0) return { snapshots: [], failures };

    const topics = [...new Set(readable.map((t) => t.topic))];
    const groupIds = [...new Set(readable.map((t) => t.groupId))];
    const [facts, groups] = await Promise.all([this.topicFacts(admin, topics), admin.describeGroups(groupIds)]);
    const groupById = new Map(groups.groups.map((g) => [g.groupId, g]));

    const settled = await Promise.allSettled(
      readable.map(async (target) => {
        const topicFacts = facts.get(target.topic);
        if (!topicFacts) throw new Error(`no offsets read for topic ${target.topic}`);
        return this.snapshot(admin, target, topicFacts, groupById.get(target.groupId));
      }),
    );
    const snapshots: GroupLagSnapshot[] = [];
    settled.forEach((result, i) => {
      const target = readable[i];
      if (result.status === 'fulfilled') snapshots.push(result.value);
      else if (target) failures.push({ target, error: result.reason });
    });
    return { snapshots, failures };
  }

  /** Throws when the cluster cannot be reached (readiness). */
  async ping(): Promise<void> {
    const admin = await this.ready();
    await admin.describeCluster();
  }

  async close(): Promise<void> {
    await this.timestamps?.close();
    if (this.connection.release()) await this.admin.disconnect();
  }

  private async snapshot(
    admin: Admin,
    target: LagTarget,
    facts: TopicFacts,
    group: GroupDescription | undefined,
  ): Promise<GroupLagSnapshot> {
    const [fetched] = await admin.fetchOffsets({ groupId: target.groupId, topics: [target.topic] });
    const committed = new Map((fetched?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    const owners = assignedPartitions(group, target.topic);
    const partitions = await Promise.all(
      [...facts.offsets.entries()]
        .sort(([a], [b]) => a - b)
        .map(async ([partition, { low, high }]): Promise<PartitionOffsets> => {
          const offset = committed.get(partition);
          const committedOffset = offset === undefined || offset < 0 ? null : offset;
          const oldestUnconsumed = Math.max(committedOffset ?? low, low);
          const oldestUnconsumedTimestamp =
            oldestUnconsumed < high && this.timestamps
              ? // Unknown rather than failing the whole read: the offsets are still worth reporting.
                await this.timestamps.timestampAt(target.topic, partition, oldestUnconsumed).catch(() => null)
              : null;
          return {
            partition,
            committedOffset,
            logStartOffset: low,
            logEndOffset: high,
            oldestUnconsumedTimestamp,
            assigned: owners === 'all' || owners.has(partition),
          };
        }),
    );
    const at = this.now();
    return {
      groupId: target.groupId,
      topic: target.topic,
      at,
      group: {
        state: group?.state ?? 'Unknown',
        members: group?.members.length ?? 0,
        memberIds: (group?.members ?? []).map((m) => m.memberId).sort(),
      },
      retentionMs: facts.retentionMs,
      partitions: partitions.map((p) => partitionLag(p, at, facts.retentionMs)),
    };
  }

  private async topicFacts(admin: Admin, topics: readonly string[]): Promise<Map<string, TopicFacts>> {
    const [offsets, configs] = await Promise.all([
      Promise.all(topics.map(async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const)),
      admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms', 'cleanup.policy'] })),
      }),
    ]);
    const retention = new Map(
      configs.resources.map((resource) => {
        const value = (name: string) => resource.configEntries.find((e) => e.configName === name)?.configValue;
        const deletes = (value('cleanup.policy') ?? 'delete').split(',').includes('delete');
        const ms = Number(value('retention.ms') ?? '-1');
        return [resource.resourceName, deletes && ms >= 0 ? ms : null] as const;
      }),
    );
    return new Map(
      offsets.map(([topic, partitions]) => [
        topic,
        {
          offsets: new Map(partitions.map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }])),
          retentionMs: retention.get(topic) ?? null,
        },
      ]),
    );
  }

  private async ready(): Promise<Admin> {
    await this.connection.ready();
    return this.admin;
  }
}

/**
 * Partitions of `topic` a live member owns, from the assignments in
 * DescribeGroups. While the group rebalances, or when an assignment cannot be
 * decoded (not a kafkajs/Java consumer protocol), every partition counts as
 * owned: members are there, and a momentary gap must not read as "stopped".
 */
function assignedPartitions(group: GroupDescription | undefined, topic: string): Set<number> | 'all' {
  const owned = new Set<number>();
  if (!group || group.members.length === 0) return owned;
  if (REBALANCING.has(group.state) || group.protocolType !== 'consumer') return 'all';
  for (const member of group.members) {
    let decoded: ReturnType<typeof AssignerProtocol.MemberAssignment.decode>;
    try {
      decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
    } catch {
      return 'all';
    }
    if (decoded === null) return 'all';
    for (const partition of decoded.assignment[topic] ?? []) owned.add(partition);
  }
  return owned;
}
