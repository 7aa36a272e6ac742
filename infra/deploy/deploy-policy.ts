import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { APP_ENV, SECRET_NAME } from './deploy-contract';
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
 * Every app container (image `queues-logs-streams/<app>`) sets each variable of
 * APP_ENV, directly or through an envFrom ConfigMap/Secret, and names itself in
 * SERVICE_NAME and OTEL_SERVICE_NAME.
 */
export function appEnvProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const template = podTemplateOf(object);
    for (const container of template?.spec.containers ?? []) {
      if (!isAppImage(container.image)) continue;
      const where = `${describeObject(object)} container "${container.name}"`;
      const names = new Set((container.env ?? []).map((variable) => variable.name));
      for (const source of container.envFrom ?? []) {
        const from = source.configMapRef
          ? find(objects, 'ConfigMap', source.configMapRef.name)
          : source.secretRef
            ? find(objects, 'Secret', source.secretRef.name)
            : undefined;
        for (const key of Object.keys((from?.['data'] as object | undefined) ?? {})) names.add(`${source.prefix ?? ''}${key}`);
      }
      const missing = APP_ENV.filter((name) => !names.has(name));
      if (missing.length > 0) problems.push(`${where} does not set ${missing.join(', ')}`);
      const app = appOfImage(container.image ?? '');
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
  return problems;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);

/**
 * Services, PodDisruptionBudgets and autoscalers point at workloads that exist;
 * a Deployment scaled by an autoscaler leaves spec.replicas unset, or every
 * apply would reset the autoscaler's choice.
 */
export function wiringProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  const templates = objects.map(podTemplateOf).filter((template): template is PodTemplate => template !== undefined);
  const selects = (selector: Record<string, string> | undefined) => templates.some((template) => matches(selector ?? {}, template.labels));
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
