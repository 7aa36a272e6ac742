import { type KubeObject, describeObject } from '../deploy-tools';
import { podTemplateOf } from './objects';

export const PART_OF = 'queues-logs-streams';
const NAME_LABEL = 'app.kubernetes.io/name';
const PART_OF_LABEL = 'app.kubernetes.io/part-of';

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
