import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '../deploy-contract';
import { type KubeObject, describeObject } from '../deploy-tools';
import { containerAt, containerEnv, isAppImage, podTemplateOf } from './objects';

const WORKLOADS_WITH_PROBES = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** Long-running workloads: every container has a liveness and a readiness probe. */
export function probeProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    if (!WORKLOADS_WITH_PROBES.has(object.kind)) continue;
    for (const container of podTemplateOf(object)?.spec.containers ?? []) {
      const where = containerAt(object, container);
      if (!container.livenessProbe) problems.push(`${where} has no livenessProbe`);
      if (!container.readinessProbe) problems.push(`${where} has no readinessProbe`);
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
      if (!Number.isFinite(timeout)) problems.push(`${containerAt(object, container)} has a non-numeric SHUTDOWN_TIMEOUT_MS`);
      else if (grace <= preStop + timeout / 1000) {
        problems.push(
          `${describeObject(object)} gives ${grace} s to stop, but container "${container.name}" may take ${preStop ? `${preStop} s (preStop) + ` : ''}${timeout / 1000} s (SHUTDOWN_TIMEOUT_MS); raise terminationGracePeriodSeconds`,
        );
      }
    }
  }
  return problems;
}
