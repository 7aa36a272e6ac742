import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import {
  CREDENTIALS_UNUSED,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  KAFKA_SCALED_APPS,
  type KafkaGroupSpec,
  type ProvisionedTopic,
  SECRET_NAME,
  appEnvFor,
  joinedGroups,
  provisionedTopics,
} from './deploy-contract';
import { type KubeObject, describeObject } from './deploy-tools';

/**
 * Policy checks over rendered Kubernetes objects. Each returns a list of
 * problems, one sentence each naming the object and container, so a failing
 * test reads as a to-do list; an empty list means the objects comply.
 */

export const PART_OF = 'queues-logs-streams';
const NAME_LABEL = 'app.kubernetes.io/name';
const PART_OF_LABEL = 'app.kubernetes.io/part-of';

interface PodTemplate {
  readonly owner: KubeObject;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly spec: IPodSpec;
}

interface TemplateSpec {
  metadata?: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: IPodSpec;
}

const WORKLOADS_WITH_PROBES = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** The pod template of a workload (Deployment, StatefulSet, DaemonSet, Job, CronJob), if it has one. */
export function podTemplateOf(object: KubeObject): PodTemplate | undefined {
  const spec = object['spec'] as
    | {
        template?: TemplateSpec;
        jobTemplate?: { spec?: { template?: TemplateSpec } };
      }
    | undefined;
  const template = object.kind === 'CronJob' ? spec?.jobTemplate?.spec?.template : spec?.template;
  if (!template?.spec) return undefined;
  return {
    owner: object,
    labels: template.metadata?.labels ?? {},
    annotations: template.metadata?.annotations ?? {},
    spec: template.spec,
  };
}

const allContainers = (spec: IPodSpec): IContainer[] => [...(spec.initContainers ?? []), ...spec.containers];

/** Why `image` is not pinned, or undefined when it names a version or a digest. */
export function imageProblem(image: string | undefined): string | undefined {
  if (!image) return 'has no image';
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon < 0) return `image "${image}" has no tag (that means :latest); pin a version`;
  const tag = lastSegment.slice(colon + 1);
  if (tag === '' || tag === 'latest') return `image "${image}" uses the moving tag :latest; pin a version`;
  return undefined;
}

/** True when the image is one of this repository's apps (`[registry/]queues-logs-streams/<app>:tag`). */
export const isAppImage = (image: string | undefined): boolean =>
  image !== undefined && /(^|\/)queues-logs-streams\/[^/:@]+([:@]|$)/.test(image);

/** The app name in an app image: `registry.example.com/queues-logs-streams/outbox-relay:1.0` -> `outbox-relay`. */
export const appOfImage = (image: string): string | undefined => /(?:^|\/)queues-logs-streams\/([^/:@]+)/.exec(image)?.[1];

export interface ContainerPolicyOptions {
  /** Container names allowed a writable root filesystem, with the reason. */
  readonly writableRoot?: Readonly<Record<string, string>>;
}

/**
 * Every container: requests for CPU and memory and a memory limit (a CPU
 * limit is allowed, not required: it throttles rather than protects), a pinned
 * image, and a security context that runs as non-root, cannot escalate, drops
 * every capability and (unless excepted) has a read-only root filesystem.
 */
export function containerProblems(objects: readonly KubeObject[], options: ContainerPolicyOptions = {}): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const template = podTemplateOf(object);
    if (!template) continue;
    const pod = template.spec.securityContext ?? {};
    for (const container of allContainers(template.spec)) {
      const where = `${describeObject(object)} container "${container.name}"`;
      const requests = container.resources?.requests ?? {};
      const limits = container.resources?.limits ?? {};
      for (const [present, what] of [
        [requests['cpu'], 'resources.requests.cpu'],
        [requests['memory'], 'resources.requests.memory'],
        [limits['memory'], 'resources.limits.memory'],
      ] as const) {
        if (present === undefined) problems.push(`${where} has no ${what}`);
      }
      const image = imageProblem(container.image);
      if (image) problems.push(`${where}: ${image}`);

      const own = container.securityContext ?? {};
      const runAsNonRoot = own.runAsNonRoot ?? pod.runAsNonRoot;
      const runAsUser = own.runAsUser ?? pod.runAsUser;
      if (runAsNonRoot !== true) problems.push(`${where} does not set securityContext.runAsNonRoot: true (container or pod)`);
      if (runAsUser === 0) problems.push(`${where} runs as uid 0`);
      if (own.privileged === true) problems.push(`${where} is privileged`);
      if (own.allowPrivilegeEscalation !== false) problems.push(`${where} does not set securityContext.allowPrivilegeEscalation: false`);
      if (!own.capabilities?.drop?.includes('ALL')) problems.push(`${where} does not drop ALL capabilities`);
      if (own.readOnlyRootFilesystem !== true && !(container.name in (options.writableRoot ?? {}))) {
        problems.push(`${where} does not set securityContext.readOnlyRootFilesystem: true (mount an emptyDir where it must write)`);
      }
    }
  }
  return problems;
}

/** Long-running workloads: every container has a liveness and a readiness probe. */
export function probeProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    if (!WORKLOADS_WITH_PROBES.has(object.kind)) continue;
    for (const container of podTemplateOf(object)?.spec.containers ?? []) {
      const where = `${describeObject(object)} container "${container.name}"`;
      if (!container.livenessProbe) problems.push(`${where} has no livenessProbe`);
      if (!container.readinessProbe) problems.push(`${where} has no readinessProbe`);
    }
  }
  return problems;
}

/** Every object and pod template carries app.kubernetes.io/name and part-of; selectors select their own template. */
export function labelProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  const check = (labels: Record<string, string> | undefined, where: string) => {
    if (!labels?.[NAME_LABEL]) problems.push(`${where} has no ${NAME_LABEL} label`);
    if (labels?.[PART_OF_LABEL] !== PART_OF) problems.push(`${where} does not have ${PART_OF_LABEL}: ${PART_OF}`);
  };
  for (const object of objects) {
    check(object.metadata?.labels, describeObject(object));
    const template = podTemplateOf(object);
    if (!template) continue;
    check(template.labels, `${describeObject(object)} pod template`);
    const selector = (object['spec'] as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels;
    for (const [key, value] of Object.entries(selector ?? {})) {
      if (template.labels[key] !== value)
        problems.push(`${describeObject(object)} selects ${key}=${value}, which its own pod template does not carry`);
    }
  }
  return problems;
}

const SECRET_LIKE_KEY = /pass(word|wd)?|secret|token|credential|api[-_]?key|private[-_]?key/i;
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Why the pair `key=value` looks like a credential, or undefined. */
export function credentialProblem(key: string, value: string): string | undefined {
  if (value === '') return undefined;
  if (URL_WITH_PASSWORD.test(value)) return `${key} holds a URL with a password in it`;
  if (PRIVATE_KEY.test(value)) return `${key} holds a private key`;
  if (SECRET_LIKE_KEY.test(key)) return `${key} looks like a credential and has a value`;
  return undefined;
}

/**
 * For base and production: no values that look like credentials in ConfigMaps
 * or in literal container env, and no Secret objects with data at all (they
 * are referenced by name and created outside the repository).
 */
export function credentialLeakProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    if (object.kind === 'Secret') {
      const keys = [
        ...Object.keys((object['data'] as object | undefined) ?? {}),
        ...Object.keys((object['stringData'] as object | undefined) ?? {}),
      ];
      if (keys.length > 0)
        problems.push(
          `${describeObject(object)} carries values (${keys.join(', ')}); reference secrets by name and create them outside the repository`,
        );
    }
    if (object.kind === 'ConfigMap') {
      for (const [key, value] of Object.entries((object['data'] as Record<string, string> | undefined) ?? {})) {
        const problem = credentialProblem(key, value);
        if (problem) problems.push(`${describeObject(object)}: ${problem}; move it to the Secret ${SECRET_NAME}`);
      }
    }
    const template = podTemplateOf(object);
    for (const container of template ? allContainers(template.spec) : []) {
      for (const variable of container.env ?? []) {
        const problem = variable.value === undefined ? undefined : credentialProblem(variable.name, variable.value);
        if (problem) problems.push(`${describeObject(object)} container "${container.name}" env ${problem}; use a secretKeyRef`);
      }
    }
  }
  return problems;
}

const find = (objects: readonly KubeObject[], kind: string, name: string | undefined) =>
  objects.find((object) => object.kind === kind && object.metadata?.name === name);

/**
 * The variables a container gets, by name: the value when the files state it
 * (a literal, or a ConfigMap key), undefined when it comes from a Secret or
 * from a source that is not rendered. `env` overrides `envFrom`, as in the kubelet.
 */
export function containerEnv(objects: readonly KubeObject[], container: IContainer): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const source of container.envFrom ?? []) {
    const from = source.configMapRef
      ? find(objects, 'ConfigMap', source.configMapRef.name)
      : source.secretRef
        ? find(objects, 'Secret', source.secretRef.name)
        : undefined;
    for (const [key, value] of Object.entries((from?.['data'] as Record<string, string> | undefined) ?? {})) {
      env.set(`${source.prefix ?? ''}${key}`, from?.kind === 'ConfigMap' ? value : undefined);
    }
  }
  for (const variable of container.env ?? []) {
    const configRef = variable.valueFrom?.configMapKeyRef;
    const fromConfigMap = configRef
      ? (find(objects, 'ConfigMap', configRef.name)?.['data'] as Record<string, string> | undefined)?.[configRef.key]
      : undefined;
    env.set(variable.name, variable.value ?? fromConfigMap);
  }
  return env;
}

/**
 * Every app container (image `queues-logs-streams/<app>`) sets each variable of
 * APP_ENV (but the credentials CREDENTIALS_UNUSED says it does not read, which
 * it must not get) and of `perApp(<app>)`, directly or through an envFrom
 * ConfigMap/Secret, and names itself in SERVICE_NAME and OTEL_SERVICE_NAME.
 */
export function appEnvProblems(objects: readonly KubeObject[], perApp: (app: string) => readonly string[] = () => []): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const template = podTemplateOf(object);
    for (const container of template?.spec.containers ?? []) {
      if (!isAppImage(container.image)) continue;
      const where = `${describeObject(object)} container "${container.name}"`;
      const names = containerEnv(objects, container);
      const app = appOfImage(container.image ?? '') ?? '';
      const missing = [...appEnvFor(app), ...perApp(app)].filter((name) => !names.has(name));
      if (missing.length > 0) problems.push(`${where} does not set ${missing.join(', ')}`);
      const unused = (CREDENTIALS_UNUSED[app] ?? []).filter((name) => names.has(name));
      if (unused.length > 0) problems.push(`${where} gets ${unused.join(', ')}, which ${app} does not read; leave them out`);
      for (const variable of container.env ?? []) {
        if ((variable.name === 'SERVICE_NAME' || variable.name === 'OTEL_SERVICE_NAME') && variable.value !== app) {
          problems.push(`${where} sets ${variable.name}=${variable.value ?? '(from a reference)'} but runs the image of ${app}`);
        }
      }
    }
  }
  return problems;
}

export interface ReferenceOptions {
  /**
   * Secrets that are not rendered because they are created outside the
   * repository (production, base). Any other referenced Secret must be
   * rendered and hold every key that is referenced without `optional: true`.
   */
  readonly externalSecrets: readonly string[];
}

/** ConfigMaps and Secrets that containers and volumes refer to exist (or are declared external) and hold the keys used. */
export function referenceProblems(objects: readonly KubeObject[], options: ReferenceOptions): string[] {
  const problems: string[] = [];
  const checkSecret = (where: string, name: string | undefined, key: string | undefined, optional: boolean | undefined) => {
    if (name === undefined) return problems.push(`${where} refers to a Secret without a name`);
    if (options.externalSecrets.includes(name)) return;
    const secret = find(objects, 'Secret', name);
    if (!secret) return problems.push(`${where} refers to Secret ${name}, which is neither rendered nor declared external`);
    const keys = {
      ...((secret['data'] as object | undefined) ?? {}),
      ...((secret['stringData'] as object | undefined) ?? {}),
    };
    if (key !== undefined && !(key in keys) && optional !== true)
      problems.push(`${where} needs key ${key} of Secret ${name}, which does not have it`);
    return undefined;
  };
  const checkConfigMap = (where: string, name: string | undefined, key: string | undefined, optional: boolean | undefined) => {
    const configMap = find(objects, 'ConfigMap', name);
    if (!configMap) {
      if (optional !== true) problems.push(`${where} refers to ConfigMap ${name ?? '(no name)'}, which is not rendered`);
      return;
    }
    if (key !== undefined && !(key in ((configMap['data'] as object | undefined) ?? {})) && optional !== true) {
      problems.push(`${where} needs key ${key} of ConfigMap ${name}, which does not have it`);
    }
  };
  for (const object of objects) {
    const template = podTemplateOf(object);
    if (!template) continue;
    for (const container of allContainers(template.spec)) {
      const where = `${describeObject(object)} container "${container.name}"`;
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef) checkConfigMap(where, source.configMapRef.name, undefined, source.configMapRef.optional);
        if (source.secretRef) checkSecret(where, source.secretRef.name, undefined, source.secretRef.optional);
      }
      for (const variable of container.env ?? []) {
        const secretRef = variable.valueFrom?.secretKeyRef;
        const configRef = variable.valueFrom?.configMapKeyRef;
        if (secretRef) checkSecret(`${where} env ${variable.name}`, secretRef.name, secretRef.key, secretRef.optional);
        if (configRef) checkConfigMap(`${where} env ${variable.name}`, configRef.name, configRef.key, configRef.optional);
      }
    }
    for (const volume of template.spec.volumes ?? []) {
      const where = `${describeObject(object)} volume "${volume.name}"`;
      if (volume.configMap) checkConfigMap(where, volume.configMap.name, undefined, volume.configMap.optional);
      if (volume.secret) checkSecret(where, volume.secret.secretName, undefined, volume.secret.optional);
    }
  }
  // KEDA reads these Secrets itself; kustomize renames generated Secrets only where it is told to.
  for (const object of objects.filter((o) => o.kind === 'TriggerAuthentication')) {
    const refs = ((object['spec'] as { secretTargetRef?: { parameter?: string; name?: string; key?: string }[] } | undefined)
      ?.secretTargetRef ?? []) as { parameter?: string; name?: string; key?: string }[];
    for (const ref of refs) checkSecret(`${describeObject(object)} parameter ${ref.parameter ?? '(none)'}`, ref.name, ref.key, false);
  }
  return problems;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);

/**
 * Services, PodDisruptionBudgets and autoscalers point at workloads that exist;
 * a Deployment scaled by an autoscaler leaves spec.replicas unset, or every
 * apply would reset the autoscaler's choice; no workload has two autoscalers
 * (a KEDA ScaledObject makes its own HPA, and two HPAs fight); a ScaledObject's
 * trigger authentication and a pod's ServiceAccount exist.
 */
export function wiringProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  const templates = objects.map(podTemplateOf).filter((template): template is PodTemplate => template !== undefined);
  const selects = (selector: Record<string, string> | undefined) => templates.some((template) => matches(selector ?? {}, template.labels));
  const scalers = new Map<string, string[]>();
  for (const object of objects) {
    if (object.kind !== 'HorizontalPodAutoscaler' && object.kind !== 'ScaledObject') continue;
    const target = ((object['spec'] as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)?.scaleTargetRef ?? {}) as {
      kind?: string;
      name?: string;
    };
    const key = `${target.kind ?? 'Deployment'}/${target.name}`;
    scalers.set(key, [...(scalers.get(key) ?? []), describeObject(object)]);
  }
  for (const [workload, by] of scalers) {
    if (by.length > 1) problems.push(`${workload} is scaled by ${by.join(' and ')}; keep one (KEDA makes its own HPA)`);
  }
  for (const template of templates) {
    const account = template.spec.serviceAccountName;
    if (account !== undefined && account !== 'default' && !find(objects, 'ServiceAccount', account)) {
      problems.push(`${describeObject(template.owner)} runs as ServiceAccount ${account}, which is not rendered`);
    }
  }
  for (const object of objects.filter((o) => o.kind === 'ScaledObject')) {
    const triggers = ((object['spec'] as { triggers?: unknown[] } | undefined)?.triggers ?? []) as {
      type?: string;
      authenticationRef?: { name?: string; kind?: string };
    }[];
    for (const trigger of triggers) {
      const ref = trigger.authenticationRef;
      if (ref && !find(objects, ref.kind ?? 'TriggerAuthentication', ref.name)) {
        problems.push(
          `${describeObject(object)} trigger ${trigger.type} authenticates with ${ref.kind ?? 'TriggerAuthentication'}/${ref.name}, which is not rendered`,
        );
      }
    }
  }
  for (const object of objects) {
    const spec = (object['spec'] ?? {}) as Record<string, unknown>;
    if (object.kind === 'Service' && spec['selector'] && !selects(spec['selector'] as Record<string, string>)) {
      problems.push(`${describeObject(object)} selects ${JSON.stringify(spec['selector'])}, which no pod template carries`);
    }
    if (object.kind === 'PodDisruptionBudget') {
      const selector = (spec['selector'] as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
      if (!selects(selector))
        problems.push(`${describeObject(object)} selects ${JSON.stringify(selector ?? {})}, which no pod template carries`);
    }
    if (object.kind === 'HorizontalPodAutoscaler' || object.kind === 'ScaledObject') {
      const target = (spec['scaleTargetRef'] ?? {}) as {
        kind?: string;
        name?: string;
      };
      const workload = find(objects, target.kind ?? 'Deployment', target.name);
      if (!workload) problems.push(`${describeObject(object)} scales ${target.kind ?? 'Deployment'}/${target.name}, which is not rendered`);
      else if ((workload['spec'] as { replicas?: number }).replicas !== undefined) {
        problems.push(`${describeObject(workload)} sets spec.replicas although ${describeObject(object)} scales it; remove replicas`);
      }
    }
  }
  return problems;
}

/** Image of each container, keyed by container name, for comparing with compose. */
export function containerImages(objects: readonly KubeObject[]): Map<string, string> {
  const images = new Map<string, string>();
  for (const object of objects) {
    const template = podTemplateOf(object);
    for (const container of template?.spec.containers ?? []) if (container.image) images.set(container.name, container.image);
  }
  return images;
}

interface ScaledObjectSpec {
  scaleTargetRef?: { kind?: string; name?: string; envSourceContainerName?: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  fallback?: { replicas?: number };
  triggers?: { type?: string; metadata?: Record<string, string> }[];
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

/**
 * A `kafka` trigger: a positive integer lagThreshold; the group and topic its
 * target joins and reads (KAFKA_SCALED_APPS); a topic provisioning creates;
 * and the target's KAFKA_BROKERS as KEDA's namespace resolves them. (The
 * replica cap against the partitions: kafkaReplicaProblems.)
 */
function kafkaTriggerProblems(
  at: string,
  metadata: Record<string, string>,
  context: {
    readonly app: string | undefined;
    readonly env: Map<string, string | undefined>;
    readonly namespace: string | undefined;
    readonly consumers: Readonly<Record<string, readonly KafkaGroupSpec[]>>;
    readonly topics: readonly ProvisionedTopic[];
  },
): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') problems.push(`${at} metadata ${key} is not a string (quote it)`);
  }
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

    const workload = find(objects, spec.scaleTargetRef?.kind ?? 'Deployment', spec.scaleTargetRef?.name);
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
        continue;
      }
      if (trigger.type !== 'aws-sqs-queue') continue;
      const at = `${where} trigger aws-sqs-queue`;
      const metadata = trigger.metadata ?? {};
      for (const [key, value] of Object.entries(metadata)) {
        if (typeof value !== 'string') problems.push(`${at} metadata ${key} is not a string (quote it)`);
      }
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
      const queueVariable = app === undefined ? undefined : options.queueEnv[app];
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
        continue;
      }
      if (!awsEndpoint) {
        problems.push(`${at} has no awsEndpoint; the target talks to ${sqsEndpoint}, not AWS`);
        continue;
      }
      const ours = new URL(sqsEndpoint);
      let theirs: URL;
      try {
        theirs = new URL(awsEndpoint);
      } catch {
        problems.push(`${at} awsEndpoint ${awsEndpoint} is not a URL`);
        continue;
      }
      const namespace = object.metadata?.namespace;
      const hostOk = ours.hostname.includes('.')
        ? theirs.hostname === ours.hostname
        : namespace !== undefined &&
          (theirs.hostname === `${ours.hostname}.${namespace}` || theirs.hostname.startsWith(`${ours.hostname}.${namespace}.svc`));
      if (!hostOk || theirs.port !== ours.port || theirs.protocol !== ours.protocol) {
        problems.push(
          `${at} awsEndpoint ${awsEndpoint} is not the target's SQS_ENDPOINT ${sqsEndpoint} as seen from KEDA's namespace (${ours.protocol}//${ours.hostname}.${namespace ?? '<namespace>'}.svc.cluster.local${ours.port ? `:${ours.port}` : ''})`,
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

/**
 * App pods get longer to stop than they give themselves: the kubelet's SIGKILL
 * (terminationGracePeriodSeconds, default 30) must come after the app's own
 * deadline, SHUTDOWN_TIMEOUT_MS (default 10 s), plus a preStop sleep if any.
 */
export function shutdownProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const template = podTemplateOf(object);
    if (!template) continue;
    const grace = template.spec.terminationGracePeriodSeconds ?? 30;
    for (const container of template.spec.containers.filter((c) => isAppImage(c.image))) {
      const timeout = Number(containerEnv(objects, container).get('SHUTDOWN_TIMEOUT_MS') ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
      const command = container.lifecycle?.preStop?.exec?.command ?? [];
      const preStop = command[0] === 'sleep' ? Number(command[1] ?? 0) : 0;
      if (!Number.isFinite(timeout))
        problems.push(`${describeObject(object)} container "${container.name}" has a non-numeric SHUTDOWN_TIMEOUT_MS`);
      else if (grace <= preStop + timeout / 1000) {
        problems.push(
          `${describeObject(object)} gives ${grace} s to stop, but container "${container.name}" may take ${preStop ? `${preStop} s (preStop) + ` : ''}${timeout / 1000} s (SHUTDOWN_TIMEOUT_MS); raise terminationGracePeriodSeconds`,
        );
      }
    }
  }
  return problems;
}
