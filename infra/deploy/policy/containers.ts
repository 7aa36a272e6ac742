import type { KubeObject } from '../deploy-tools';
import { allContainers, containerAt, podTemplateOf } from './objects';

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
      const where = containerAt(object, container);
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
