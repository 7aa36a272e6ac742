import { type KubeObject, describeObject } from '../deploy-tools';
import { type PodTemplate, findObject, podTemplateOf } from './objects';

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
    if (account !== undefined && account !== 'default' && !findObject(objects, 'ServiceAccount', account)) {
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
      if (ref && !findObject(objects, ref.kind ?? 'TriggerAuthentication', ref.name)) {
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
      const workload = findObject(objects, target.kind ?? 'Deployment', target.name);
      if (!workload) problems.push(`${describeObject(object)} scales ${target.kind ?? 'Deployment'}/${target.name}, which is not rendered`);
      else if ((workload['spec'] as { replicas?: number }).replicas !== undefined) {
        problems.push(`${describeObject(workload)} sets spec.replicas although ${describeObject(object)} scales it; remove replicas`);
      }
    }
  }
  return problems;
}
