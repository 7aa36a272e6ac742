import { KAFKA_SCALED_APPS, type KafkaGroupSpec, type ProvisionedTopic, joinedGroups, provisionedTopics } from '../deploy-contract';
import { type KubeObject, describeObject } from '../deploy-tools';
import { kafkaTriggerProblems, sqsTriggerProblems } from './keda-triggers';
import { appOfImage, containerEnv, findObject, podTemplateOf } from './objects';

interface ScaledObjectSpec {
  scaleTargetRef?: { kind?: string; name?: string; envSourceContainerName?: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  fallback?: { replicas?: number };
  triggers?: { type?: string; metadata?: Record<string, string> }[];
}

export interface ScaledObjectOptions {
  /**
   * Apps (by image) scaled on an SQS queue, and the variable that names the
   * queue they consume: the aws-sqs-queue trigger must watch that queue.
   */
  readonly queueEnv: Readonly<Record<string, string>>;
  /**
   * Apps scaled on consumer-group lag, and the variables naming the groups
   * they may join and their topics: a `kafka` trigger must watch a group its
   * target joins, on that group's topic. Default: KAFKA_SCALED_APPS.
   */
  readonly kafkaConsumers?: Readonly<Record<string, readonly KafkaGroupSpec[]>>;
  /** The Kafka topics that exist, with their partitions. Default: infra/provision/topology.json. */
  readonly topics?: readonly ProvisionedTopic[];
}

/**
 * KEDA ScaledObjects: a stated maxReplicaCount (KEDA's default is 100) not
 * below minReplicaCount, a fallback within it, at least one trigger. An
 * `aws-sqs-queue` trigger watches what its target consumes: the queue named by
 * the target's queue variable, in the target's AWS_REGION; a numeric
 * queueLength (KEDA falls back to 5 on anything else); and, when the target
 * talks to an SQS endpoint other than AWS's (ElasticMQ), an `awsEndpoint` for
 * the same server that resolves from KEDA's own namespace. A `kafka` trigger
 * watches the group and topic its target consumes, on the target's brokers,
 * with no more replicas than the topic has partitions (kafkaTriggerProblems).
 */
export function scaledObjectProblems(objects: readonly KubeObject[], options: ScaledObjectOptions): string[] {
  const problems: string[] = [];
  for (const object of objects.filter((o) => o.kind === 'ScaledObject')) {
    const where = describeObject(object);
    const spec = (object['spec'] ?? {}) as ScaledObjectSpec;
    const min = spec.minReplicaCount ?? 0;
    const max = spec.maxReplicaCount;
    if (max === undefined) problems.push(`${where} does not state maxReplicaCount (KEDA would allow 100)`);
    else if (max < Math.max(1, min)) problems.push(`${where} has maxReplicaCount ${max} below minReplicaCount ${min} (or 1)`);
    if (spec.fallback?.replicas !== undefined && max !== undefined && spec.fallback.replicas > max) {
      problems.push(`${where} falls back to ${spec.fallback.replicas} replicas, above maxReplicaCount ${max}`);
    }
    if ((spec.triggers ?? []).length === 0) problems.push(`${where} has no triggers`);

    const workload = findObject(objects, spec.scaleTargetRef?.kind ?? 'Deployment', spec.scaleTargetRef?.name);
    const containers = (workload && podTemplateOf(workload)?.spec.containers) || [];
    const container = containers.find((c) => c.name === spec.scaleTargetRef?.envSourceContainerName) ?? containers[0];
    const env = container ? containerEnv(objects, container) : new Map<string, string | undefined>();
    const app = appOfImage(container?.image ?? '');

    // A process in several groups must grow for the lag of each (KEDA takes
    // the largest of its triggers); with one group, a wrong group is named below.
    const kafkaTriggers = (spec.triggers ?? []).filter((trigger) => trigger.type === 'kafka');
    const joined = app === undefined ? [] : joinedGroups(app, (name) => env.get(name), options.kafkaConsumers ?? KAFKA_SCALED_APPS);
    if (kafkaTriggers.length > 0 && joined.length > 1) {
      for (const { spec: group, group: name, topic } of joined) {
        if (kafkaTriggers.some(({ metadata }) => metadata?.['consumerGroup'] === name && metadata?.['topic'] === topic)) continue;
        problems.push(
          `${where} scales ${app}, which also joins ${group.groupEnv}=${name ?? '(unset)'} on ${topic ?? '(unset)'}, with no kafka trigger on that group: its lag would not scale it`,
        );
      }
    }

    for (const trigger of spec.triggers ?? []) {
      if (trigger.type === 'kafka') {
        problems.push(
          ...kafkaTriggerProblems(`${where} trigger kafka`, trigger.metadata ?? {}, {
            app,
            env,
            namespace: object.metadata?.namespace,
            consumers: options.kafkaConsumers ?? KAFKA_SCALED_APPS,
            topics: options.topics ?? provisionedTopics(),
          }),
        );
      } else if (trigger.type === 'aws-sqs-queue') {
        problems.push(
          ...sqsTriggerProblems(`${where} trigger aws-sqs-queue`, trigger.metadata ?? {}, {
            app,
            env,
            namespace: object.metadata?.namespace,
            queueEnv: options.queueEnv,
          }),
        );
      }
    }
  }
  return problems;
}

/**
 * Never more consumers than partitions: a ScaledObject with a `kafka` trigger
 * states `allowIdleConsumers: 'false'` and a maxReplicaCount no higher than
 * the partitions of the trigger's topic as provisioning creates it
 * (infra/provision/topology.json). A group member beyond the partition count
 * gets no partition and sits idle, and KEDA would allow 100 replicas unstated.
 */
export function kafkaReplicaProblems(objects: readonly KubeObject[], topics: readonly ProvisionedTopic[] = provisionedTopics()): string[] {
  const problems: string[] = [];
  for (const object of objects.filter((o) => o.kind === 'ScaledObject')) {
    const spec = (object['spec'] ?? {}) as ScaledObjectSpec;
    for (const trigger of (spec.triggers ?? []).filter((t) => t.type === 'kafka')) {
      const at = `${describeObject(object)} trigger kafka`;
      const metadata = trigger.metadata ?? {};
      if (metadata['allowIdleConsumers'] !== 'false') {
        problems.push(
          `${at} has allowIdleConsumers ${metadata['allowIdleConsumers'] ?? '(unset)'}; state 'false': a replica beyond the partition count gets no partition`,
        );
      }
      const topic = topics.find(({ name }) => name === metadata['topic']);
      if (!topic) {
        problems.push(
          `${at} watches topic ${metadata['topic'] ?? '(unset)'}, whose partitions infra/provision/topology.json does not state`,
        );
      } else if (spec.maxReplicaCount === undefined) {
        problems.push(
          `${at}: no maxReplicaCount (KEDA would allow 100); state at most the ${topic.partitions} partitions of ${topic.name}`,
        );
      } else if (spec.maxReplicaCount > topic.partitions) {
        problems.push(
          `${at}: maxReplicaCount ${spec.maxReplicaCount} is above the ${topic.partitions} partitions of ${topic.name} (infra/provision/topology.json); the extra replicas would sit idle`,
        );
      }
    }
  }
  return problems;
}
