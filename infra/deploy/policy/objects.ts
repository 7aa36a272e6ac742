import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { type KubeObject, describeObject } from '../deploy-tools';

/** Reading rendered objects: pod templates, containers, the apps they run and the environment they get. */

export interface PodTemplate {
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

export const allContainers = (spec: IPodSpec): IContainer[] => [...(spec.initContainers ?? []), ...spec.containers];

/** How a problem names a container: `Deployment/outbox-relay container "app"`. */
export const containerAt = (object: KubeObject, container: IContainer): string => `${describeObject(object)} container "${container.name}"`;

/** The object of that kind and name, if rendered. */
export const findObject = (objects: readonly KubeObject[], kind: string, name: string | undefined) =>
  objects.find((object) => object.kind === kind && object.metadata?.name === name);

/** True when the image is one of this repository's apps (`[registry/]queues-logs-streams/<app>:tag`). */
export const isAppImage = (image: string | undefined): boolean =>
  image !== undefined && /(^|\/)queues-logs-streams\/[^/:@]+([:@]|$)/.test(image);

/** The app name in an app image: `registry.example.com/queues-logs-streams/outbox-relay:1.0` -> `outbox-relay`. */
export const appOfImage = (image: string): string | undefined => /(?:^|\/)queues-logs-streams\/([^/:@]+)/.exec(image)?.[1];

/**
 * The variables a container gets, by name: the value when the files state it
 * (a literal, or a ConfigMap key), undefined when it comes from a Secret or
 * from a source that is not rendered. `env` overrides `envFrom`, as in the kubelet.
 */
export function containerEnv(objects: readonly KubeObject[], container: IContainer): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const source of container.envFrom ?? []) {
    const from = source.configMapRef
      ? findObject(objects, 'ConfigMap', source.configMapRef.name)
      : source.secretRef
        ? findObject(objects, 'Secret', source.secretRef.name)
        : undefined;
    for (const [key, value] of Object.entries((from?.['data'] as Record<string, string> | undefined) ?? {})) {
      env.set(`${source.prefix ?? ''}${key}`, from?.kind === 'ConfigMap' ? value : undefined);
    }
  }
  for (const variable of container.env ?? []) {
    const configRef = variable.valueFrom?.configMapKeyRef;
    const fromConfigMap = configRef
      ? (findObject(objects, 'ConfigMap', configRef.name)?.['data'] as Record<string, string> | undefined)?.[configRef.key]
      : undefined;
    env.set(variable.name, variable.value ?? fromConfigMap);
  }
  return env;
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
