import type { KafkaGroupSpec, ProvisionedTopic } from '../deploy-contract';
import { joinedGroups } from '../deploy-contract';

/** What a KEDA trigger scales: the target's app (by image), the environment of its container, and the ScaledObject's namespace. */
export interface TriggerTarget {
  readonly app: string | undefined;
  readonly env: Map<string, string | undefined>;
  readonly namespace: string | undefined;
}

/**
 * A `kafka` trigger: a positive integer lagThreshold; the group and topic its
 * target joins and reads (KAFKA_SCALED_APPS); a topic provisioning creates;
 * and the target's KAFKA_BROKERS as KEDA's namespace resolves them. (The
 * replica cap against the partitions: kafkaReplicaProblems.)
 */
export function kafkaTriggerProblems(
  at: string,
  metadata: Record<string, string>,
  context: TriggerTarget & {
    readonly consumers: Readonly<Record<string, readonly KafkaGroupSpec[]>>;
    readonly topics: readonly ProvisionedTopic[];
  },
): string[] {
  const problems = unquotedMetadataProblems(at, metadata);
  if (!nonNegativeInteger(metadata['lagThreshold']) || metadata['lagThreshold'] === '0') {
    problems.push(`${at} has lagThreshold ${metadata['lagThreshold'] ?? '(unset)'}; state the lag per replica as a positive integer`);
  }
  const { app, env } = context;
  if (app === undefined || context.consumers[app] === undefined) {
    problems.push(
      `${at} scales ${app ?? 'a workload without an app image'}, which is not in KAFKA_SCALED_APPS (infra/deploy/deploy-contract.ts)`,
    );
  } else {
    const joined = joinedGroups(app, (name) => env.get(name), context.consumers);
    const selector = [...new Set(joined.flatMap(({ spec }) => (spec.when ? [spec.when.env] : [])))]
      .map((name) => ` (${name}=${env.get(name) ?? '(unset)'})`)
      .join('');
    const match = joined.find(({ group }) => group !== undefined && group === metadata['consumerGroup']);
    if (!match) {
      const groups = joined.map(({ spec, group }) => `${spec.groupEnv}=${group ?? '(unset)'}`).join(', ') || 'no group';
      problems.push(`${at} watches group ${metadata['consumerGroup'] ?? '(unset)'} but ${app} joins ${groups}${selector}`);
    }
    const reads = match ?? joined[0];
    if (reads && metadata['topic'] !== reads.topic) {
      problems.push(
        `${at} watches topic ${metadata['topic'] ?? '(unset)'} but ${app} reads ${reads.spec.topicEnv}=${reads.topic ?? '(unset)'}`,
      );
    }
  }
  if (metadata['topic'] === undefined) problems.push(`${at} has no topic (KEDA would count every topic of the group)`);
  else if (!context.topics.some(({ name }) => name === metadata['topic'])) {
    problems.push(`${at} watches topic ${metadata['topic']}, which infra/provision/topology.json does not create`);
  }

  const brokers = env.get('KAFKA_BROKERS');
  const servers = metadata['bootstrapServers'];
  if (servers === undefined) problems.push(`${at} has no bootstrapServers`);
  else if (brokers !== undefined) {
    const ours = brokers.split(',').map(hostAndPort);
    const theirs = servers.split(',').map(hostAndPort);
    const agree =
      ours.length === theirs.length &&
      ours.every((broker, index) => {
        const their = theirs[index];
        return broker !== undefined && their !== undefined && sameServerFromKeda(broker, their, context.namespace);
      });
    if (!agree) {
      problems.push(
        `${at} bootstrapServers ${servers} are not the target's KAFKA_BROKERS ${brokers} as seen from KEDA's namespace (a short name needs .${context.namespace ?? '<namespace>'}.svc.cluster.local)`,
      );
    }
  }
  return problems;
}

/**
 * An `aws-sqs-queue` trigger: a numeric queueLength (KEDA falls back to 5 on
 * anything else); the queue named by the target's queue variable (`queueEnv`),
 * in the target's AWS_REGION; and, when the target talks to an SQS endpoint
 * other than AWS's (ElasticMQ), an `awsEndpoint` for the same server that
 * resolves from KEDA's own namespace.
 */
export function sqsTriggerProblems(
  at: string,
  metadata: Record<string, string>,
  context: TriggerTarget & { readonly queueEnv: Readonly<Record<string, string>> },
): string[] {
  const problems = unquotedMetadataProblems(at, metadata);
  const { app, env, namespace } = context;
  if (!nonNegativeInteger(metadata['queueLength']) || metadata['queueLength'] === '0') {
    problems.push(`${at} has queueLength ${metadata['queueLength'] ?? '(unset)'}; state messages per replica as a positive integer`);
  }
  if (metadata['activationQueueLength'] !== undefined && !nonNegativeInteger(metadata['activationQueueLength'])) {
    problems.push(`${at} has activationQueueLength ${metadata['activationQueueLength']}, not an integer`);
  }
  const queueUrl = metadata['queueURL'];
  const queue = queueUrl === undefined ? undefined : sqsQueueName(queueUrl);
  if (queueUrl === undefined) problems.push(`${at} has no queueURL`);
  else if (queue === undefined) problems.push(`${at} queueURL ${queueUrl} is not https://<host>/<account>/<queue>`);
  const queueVariable = app === undefined ? undefined : context.queueEnv[app];
  if (queueVariable !== undefined && queue !== undefined && env.get(queueVariable) !== queue) {
    problems.push(`${at} watches queue ${queue} but ${app} consumes ${queueVariable}=${env.get(queueVariable) ?? '(unset)'}`);
  }
  const region = env.get('AWS_REGION');
  if (metadata['awsRegion'] !== region)
    problems.push(`${at} has awsRegion ${metadata['awsRegion'] ?? '(unset)'}, the target uses ${region}`);

  const sqsEndpoint = env.get('SQS_ENDPOINT');
  const onAws = sqsEndpoint === undefined || /\.amazonaws\.com(\.cn)?(:\d+)?\/?$/.test(sqsEndpoint);
  const awsEndpoint = metadata['awsEndpoint'];
  if (onAws) {
    if (awsEndpoint) problems.push(`${at} sets awsEndpoint ${awsEndpoint} while the target talks to AWS (${sqsEndpoint ?? 'default'})`);
    if (queueUrl !== undefined && queueUrl.includes('://') && !queueUrl.startsWith(`https://sqs.${region}.amazonaws.com/`)) {
      problems.push(`${at} queueURL ${queueUrl} is not in the target's region (https://sqs.${region}.amazonaws.com/...)`);
    }
    return problems;
  }
  if (!awsEndpoint) {
    problems.push(`${at} has no awsEndpoint; the target talks to ${sqsEndpoint}, not AWS`);
    return problems;
  }
  const ours = new URL(sqsEndpoint);
  let theirs: URL;
  try {
    theirs = new URL(awsEndpoint);
  } catch {
    problems.push(`${at} awsEndpoint ${awsEndpoint} is not a URL`);
    return problems;
  }
  if (!sameServerFromKeda(ours, theirs, namespace) || theirs.protocol !== ours.protocol) {
    problems.push(
      `${at} awsEndpoint ${awsEndpoint} is not the target's SQS_ENDPOINT ${sqsEndpoint} as seen from KEDA's namespace (${ours.protocol}//${ours.hostname}.${namespace ?? '<namespace>'}.svc.cluster.local${ours.port ? `:${ours.port}` : ''})`,
    );
  }
  return problems;
}

/** KEDA reads trigger metadata as strings: a number or boolean left unquoted in YAML is a problem. */
function unquotedMetadataProblems(at: string, metadata: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') problems.push(`${at} metadata ${key} is not a string (quote it)`);
  }
  return problems;
}

/**
 * Why `endpoint` (host:port) is not the target's `ours` as seen from KEDA's
 * own namespace, or undefined: a short name (`kafka`, `elasticmq`) resolves in
 * the app's namespace only, so KEDA must use `<name>.<namespace>[.svc...]`.
 */
function sameServerFromKeda(ours: { hostname: string; port: string }, theirs: { hostname: string; port: string }, namespace?: string) {
  const hostOk = ours.hostname.includes('.')
    ? theirs.hostname === ours.hostname
    : namespace !== undefined &&
      (theirs.hostname === `${ours.hostname}.${namespace}` || theirs.hostname.startsWith(`${ours.hostname}.${namespace}.svc`));
  return hostOk && theirs.port === ours.port;
}

/** `host:port` -> its parts; undefined when it is not one. */
function hostAndPort(text: string): { hostname: string; port: string } | undefined {
  const match = /^([^\s:,/]+):(\d{1,5})$/.exec(text.trim());
  return match?.[1] && match[2] ? { hostname: match[1], port: match[2] } : undefined;
}

const nonNegativeInteger = (text: string | undefined): boolean => text !== undefined && /^\d+$/.test(text);

/** The queue name in an SQS queue URL (`https://host/<account>/<name>`), or the text itself when it is a bare name. */
function sqsQueueName(queueUrl: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(queueUrl)) return queueUrl;
  try {
    const parts = new URL(queueUrl).pathname.split('/');
    return parts.length === 3 && parts[2] ? parts[2] : undefined;
  } catch {
    return undefined;
  }
}
