import type { Admin, ITopicConfig } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import type { TopicSpec } from './topology';

export type TopicChange = { topic: string; action: 'created' | 'partitions-increased' | 'config-updated' | 'unchanged'; detail?: string };

/**
 * Converges topics to their spec: creates missing ones, grows partition
 * counts (Kafka cannot shrink them — a lower count in the spec is an error,
 * since silently keeping more would break the reader's expectations), and sets
 * retention. Safe to run any number of times.
 */
export async function provisionTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<TopicChange[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.name));
  const changes: TopicChange[] = [];
  if (missing.length > 0) {
    await admin.createTopics({ waitForLeaders: true, topics: missing.map(toTopicConfig) });
    changes.push(...missing.map((spec) => ({ topic: spec.name, action: 'created' as const, detail: `${spec.partitions} partitions` })));
  }
  const present = specs.filter((spec) => existing.has(spec.name));
  if (present.length === 0) return changes;

  const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.name, configNames: ['retention.ms'] })),
  });
  for (const spec of present) {
    const partitions = metadata.topics.find((t) => t.name === spec.name)?.partitions.length ?? 0;
    if (partitions > spec.partitions) {
      throw new Error(
        `topic ${spec.name} has ${partitions} partitions but the topology asks for ${spec.partitions}; Kafka cannot reduce partitions`,
      );
    }
    if (partitions < spec.partitions) {
      await admin.createPartitions({ topicPartitions: [{ topic: spec.name, count: spec.partitions }] });
      changes.push({ topic: spec.name, action: 'partitions-increased', detail: `${partitions} → ${spec.partitions}` });
    }
    const retention = configs.resources
      .find((r) => r.resourceName === spec.name)
      ?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
    const wanted = String(retentionMs(spec));
    if (retention !== wanted) {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: spec.name, configEntries: [{ name: 'retention.ms', value: wanted }] }],
      });
      changes.push({ topic: spec.name, action: 'config-updated', detail: `retention.ms ${retention} → ${wanted}` });
    }
    if (partitions === spec.partitions && retention === wanted) changes.push({ topic: spec.name, action: 'unchanged' });
  }
  return changes;
}

function retentionMs(spec: TopicSpec): number {
  return Math.round(spec.retentionHours * 3_600_000);
}

function toTopicConfig(spec: TopicSpec): ITopicConfig {
  return {
    topic: spec.name,
    numPartitions: spec.partitions,
    replicationFactor: spec.replicationFactor ?? -1,
    configEntries: [{ name: 'retention.ms', value: String(retentionMs(spec)) }],
  };
}
