import type { Admin, Kafka } from 'kafkajs';
import { PermanentError } from '@qls/messaging';

export interface PartitionOffset {
  readonly partition: number;
  readonly offset: string;
}

export interface ResetPlan {
  readonly groupId: string;
  readonly topic: string;
  readonly timestamp: number;
  readonly partitions: readonly { partition: number; from: string | null; to: string }[];
}

/**
 * Group offset operations behind the replay feature (chapter "Replay Scenario").
 * Resetting is refused while the group has live members: they would overwrite
 * the new offsets with their next commit.
 */
export class KafkaGroupAdmin {
  private readonly admin: Admin;
  private connected: Promise<void> | undefined;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  /** What a reset to `timestamp` would do, per partition (the dry run). */
  async planResetToTimestamp(groupId: string, topic: string, timestamp: number): Promise<ResetPlan> {
    const admin = await this.ready();
    const [targets, committed] = await Promise.all([
      admin.fetchTopicOffsetsByTimestamp(topic, timestamp),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    const current = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
    return {
      groupId,
      topic,
      timestamp,
      partitions: targets
        .map(({ partition, offset }) => ({
          partition,
          from: current.get(partition) === '-1' ? null : (current.get(partition) ?? null),
          to: offset,
        }))
        .sort((a, b) => a.partition - b.partition),
    };
  }

  /** Applies a plan made by {@link planResetToTimestamp}. */
  async applyReset(plan: ResetPlan): Promise<void> {
    await this.assertNoLiveMembers(plan.groupId);
    const admin = await this.ready();
    await admin.setOffsets({
      groupId: plan.groupId,
      topic: plan.topic,
      partitions: plan.partitions.map(({ partition, to }) => ({ partition, offset: to })),
    });
  }

  /** Throws KAFKA.GROUP_ACTIVE, naming the count, while the group has live members. */
  async assertNoLiveMembers(groupId: string): Promise<void> {
    const admin = await this.ready();
    const { groups } = await admin.describeGroups([groupId]);
    const members = groups[0]?.members.length ?? 0;
    if (members > 0) {
      throw new PermanentError(
        'KAFKA.GROUP_ACTIVE',
        `consumer group ${groupId} has ${members} live member(s); stop them before resetting its offsets`,
        {
          context: { groupId, members },
        },
      );
    }
  }

  async committedOffsets(groupId: string, topic: string): Promise<PartitionOffset[]> {
    const admin = await this.ready();
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (result?.partitions ?? []).map(({ partition, offset }) => ({ partition, offset })).sort((a, b) => a.partition - b.partition);
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect();
    this.connected = undefined;
  }

  private async ready(): Promise<Admin> {
    this.connected ??= this.admin.connect();
    await this.connected;
    return this.admin;
  }
}
